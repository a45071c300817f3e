/*
 * Wrapper over libjxl's encoder: one frame of 8- or 16-bit samples (1 or
 * 3 channels, little endian) to a bare JPEG XL codestream, lossless or at
 * a Butteraugli distance. Single-threaded, like the decoder. The result is
 * malloc'd into *out; the caller frees it.
 */
#include <jxl/encode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lbjxl_encode(const unsigned char *src, size_t srclen, int rows, int cols, int comps, int in_bytes, int bits,
                 int lossless, float distance, int effort, unsigned char **out, size_t *outlen, char *err,
                 size_t errlen) {
  JxlEncoder *enc = JxlEncoderCreate(NULL);
  JxlEncoderFrameSettings *fs;
  JxlBasicInfo info;
  JxlColorEncoding ce;
  JxlPixelFormat fmt = {(uint32_t)comps, in_bytes == 1 ? JXL_TYPE_UINT8 : JXL_TYPE_UINT16, JXL_LITTLE_ENDIAN, 0};
  unsigned char *buf = NULL, *next;
  size_t cap = 1 << 16, avail;
  JxlEncoderStatus st;
  int ok = 0;

  err[0] = 0;
  *out = NULL;
  *outlen = 0;
  if (!enc) {
    snprintf(err, errlen, "cannot create encoder");
    return -1;
  }
  JxlEncoderInitBasicInfo(&info);
  info.xsize = (uint32_t)cols;
  info.ysize = (uint32_t)rows;
  info.bits_per_sample = (uint32_t)bits;
  info.exponent_bits_per_sample = 0;
  info.num_color_channels = (uint32_t)comps;
  info.uses_original_profile = lossless ? JXL_TRUE : JXL_FALSE;
  if (JxlEncoderSetBasicInfo(enc, &info) != JXL_ENC_SUCCESS) {
    snprintf(err, errlen, "basic info refused (%dx%d, %d channels of %d bits)", cols, rows, comps, bits);
    goto done;
  }
  memset(&ce, 0, sizeof ce);
  JxlColorEncodingSetToSRGB(&ce, comps == 1 ? JXL_TRUE : JXL_FALSE);
  if (JxlEncoderSetColorEncoding(enc, &ce) != JXL_ENC_SUCCESS) {
    snprintf(err, errlen, "colour encoding refused");
    goto done;
  }
  fs = JxlEncoderFrameSettingsCreate(enc, NULL);
  if (!fs || JxlEncoderFrameSettingsSetOption(fs, JXL_ENC_FRAME_SETTING_EFFORT, effort) != JXL_ENC_SUCCESS) {
    snprintf(err, errlen, "frame settings refused");
    goto done;
  }
  if (lossless) {
    st = JxlEncoderSetFrameLossless(fs, JXL_TRUE);
  } else {
    st = JxlEncoderSetFrameDistance(fs, distance);
  }
  if (st != JXL_ENC_SUCCESS) {
    snprintf(err, errlen, "lossless/distance setting refused");
    goto done;
  }
  if (JxlEncoderAddImageFrame(fs, &fmt, src, srclen) != JXL_ENC_SUCCESS) {
    snprintf(err, errlen, "frame refused (%lu bytes)", (unsigned long)srclen);
    goto done;
  }
  JxlEncoderCloseInput(enc);
  buf = (unsigned char *)malloc(cap);
  if (!buf) {
    snprintf(err, errlen, "out of memory");
    goto done;
  }
  next = buf;
  avail = cap;
  for (;;) {
    st = JxlEncoderProcessOutput(enc, &next, &avail);
    if (st == JXL_ENC_SUCCESS) {
      break;
    }
    if (st != JXL_ENC_NEED_MORE_OUTPUT) {
      snprintf(err, errlen, "encoding failed");
      goto done;
    }
    {
      size_t used = (size_t)(next - buf);
      unsigned char *nb = (unsigned char *)realloc(buf, cap * 2);
      if (!nb) {
        snprintf(err, errlen, "out of memory");
        goto done;
      }
      buf = nb;
      cap *= 2;
      next = buf + used;
      avail = cap - used;
    }
  }
  *outlen = (size_t)(next - buf);
  *out = buf;
  buf = NULL;
  ok = 1;
done:
  free(buf);
  JxlEncoderDestroy(enc);
  return ok ? 0 : -1;
}
