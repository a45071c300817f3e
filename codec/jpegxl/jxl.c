/*
 * Wrapper over libjxl's decoder: one frame held in memory into a
 * caller-sized buffer. The basic info (size, channels) is checked against
 * the caller's geometry before an output buffer is handed over, and the
 * library is told that buffer's exact size.
 */
#include <jxl/decode.h>
#include <stdio.h>
#include <string.h>

int lbjxl_decode(const unsigned char *src, size_t srclen, unsigned char *dst, size_t dstlen, int rows, int cols,
                 int comps, int out_bytes, int *bits_out, char *err, size_t errlen) {
  JxlDecoder *dec = JxlDecoderCreate(NULL);
  JxlBasicInfo info;
  JxlPixelFormat fmt = {(uint32_t)comps, out_bytes == 1 ? JXL_TYPE_UINT8 : JXL_TYPE_UINT16, JXL_LITTLE_ENDIAN, 0};
  int ok = 0, have_info = 0, have_image = 0;

  err[0] = 0;
  *bits_out = 0;
  if (!dec) {
    snprintf(err, errlen, "cannot create decoder");
    return -1;
  }
  if (JxlDecoderSubscribeEvents(dec, JXL_DEC_BASIC_INFO | JXL_DEC_FULL_IMAGE) != JXL_DEC_SUCCESS ||
      JxlDecoderSetInput(dec, src, srclen) != JXL_DEC_SUCCESS) {
    snprintf(err, errlen, "cannot set up decoder");
    goto done;
  }
  JxlDecoderCloseInput(dec);
  for (;;) {
    JxlDecoderStatus st = JxlDecoderProcessInput(dec);
    if (st == JXL_DEC_BASIC_INFO) {
      if (JxlDecoderGetBasicInfo(dec, &info) != JXL_DEC_SUCCESS) {
        snprintf(err, errlen, "no basic info");
        goto done;
      }
      if ((int)info.xsize != cols || (int)info.ysize != rows || (int)info.num_color_channels != comps ||
          info.bits_per_sample < 1 || info.bits_per_sample > (uint32_t)(8 * out_bytes)) {
        snprintf(err, errlen, "stream is %ux%u, %u channels of %u bits; header says %dx%d with %d", info.xsize,
                 info.ysize, info.num_color_channels, info.bits_per_sample, cols, rows, comps);
        goto done;
      }
      *bits_out = (int)info.bits_per_sample;
      have_info = 1;
    } else if (st == JXL_DEC_NEED_IMAGE_OUT_BUFFER) {
      size_t need = 0;
      if (!have_info || JxlDecoderImageOutBufferSize(dec, &fmt, &need) != JXL_DEC_SUCCESS || need != dstlen ||
          JxlDecoderSetImageOutBuffer(dec, &fmt, dst, dstlen) != JXL_DEC_SUCCESS) {
        snprintf(err, errlen, "decoder wants %lu bytes for a %lu-byte frame", (unsigned long)need,
                 (unsigned long)dstlen);
        goto done;
      }
    } else if (st == JXL_DEC_FULL_IMAGE) {
      have_image = 1; /* only the first frame of an animation is read */
      break;
    } else if (st == JXL_DEC_SUCCESS) {
      break;
    } else if (st == JXL_DEC_NEED_MORE_INPUT) {
      snprintf(err, errlen, "truncated stream");
      goto done;
    } else if (st == JXL_DEC_ERROR) {
      snprintf(err, errlen, "corrupt stream");
      goto done;
    }
  }
  if (!have_image) {
    snprintf(err, errlen, "stream holds no image");
    goto done;
  }
  ok = 1;
done:
  JxlDecoderDestroy(dec);
  return ok ? 0 : -1;
}
