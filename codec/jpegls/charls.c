/*
 * Thin wrapper over CharLS's C API. CharLS catches its C++ exceptions at
 * the API boundary and returns error codes; here the stream's geometry is
 * checked against the caller's before decoding, and the decoder writes
 * either straight into the caller's buffer (whose exact size it is told) or
 * into a temporary one that is then widened or interleaved.
 */
#include <charls/charls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int lbls_fail(charls_jpegls_errc rc, char *err, size_t errlen) {
  snprintf(err, errlen, "%s", charls_get_error_message(rc));
  return -1;
}

int lbls_decode(const void *src, size_t srclen, unsigned char *dst, size_t dstlen, int rows, int cols, int comps,
                int out_bytes, char *err, size_t errlen, int *near_out, int *bits_out) {
  charls_jpegls_decoder *dec = charls_jpegls_decoder_create();
  charls_frame_info fi;
  charls_interleave_mode im;
  charls_jpegls_errc rc;
  size_t need = 0, sb, i;
  int32_t near = 0;
  unsigned char *tmp = NULL;

  if (!dec) {
    snprintf(err, errlen, "cannot create decoder");
    return -1;
  }
  rc = charls_jpegls_decoder_set_source_buffer(dec, src, srclen);
  if (!rc) rc = charls_jpegls_decoder_read_header(dec);
  if (!rc) rc = charls_jpegls_decoder_get_frame_info(dec, &fi);
  if (!rc) rc = charls_jpegls_decoder_get_interleave_mode(dec, &im);
  if (!rc) rc = charls_jpegls_decoder_get_near_lossless(dec, 0, &near);
  if (rc) {
    charls_jpegls_decoder_destroy(dec);
    return lbls_fail(rc, err, errlen);
  }
  *near_out = near;
  *bits_out = fi.bits_per_sample;
  if ((int)fi.width != cols || (int)fi.height != rows || fi.component_count != comps || fi.bits_per_sample < 2 ||
      fi.bits_per_sample > 16) {
    snprintf(err, errlen, "stream is %ux%u, %d components of %d bits; header says %dx%d with %d", fi.width, fi.height,
             fi.component_count, fi.bits_per_sample, cols, rows, comps);
    charls_jpegls_decoder_destroy(dec);
    return -1;
  }
  sb = fi.bits_per_sample <= 8 ? 1 : 2;
  rc = charls_jpegls_decoder_get_destination_size(dec, 0, &need);
  if (rc) {
    charls_jpegls_decoder_destroy(dec);
    return lbls_fail(rc, err, errlen);
  }
  if ((int)sb > out_bytes || need != (size_t)rows * (size_t)cols * (size_t)comps * sb ||
      dstlen != (size_t)rows * (size_t)cols * (size_t)comps * (size_t)out_bytes) {
    snprintf(err, errlen, "%d-bit stream (%lu bytes decoded) does not fit a %lu-byte frame of %d-byte samples",
             fi.bits_per_sample, (unsigned long)need, (unsigned long)dstlen, out_bytes);
    charls_jpegls_decoder_destroy(dec);
    return -1;
  }
  if ((int)sb == out_bytes && (comps == 1 || im != CHARLS_INTERLEAVE_MODE_NONE)) {
    rc = charls_jpegls_decoder_decode_to_buffer(dec, dst, dstlen, 0);
    charls_jpegls_decoder_destroy(dec);
    return rc ? lbls_fail(rc, err, errlen) : 0;
  }
  tmp = malloc(need);
  if (!tmp) {
    charls_jpegls_decoder_destroy(dec);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  rc = charls_jpegls_decoder_decode_to_buffer(dec, tmp, need, 0);
  charls_jpegls_decoder_destroy(dec);
  if (rc) {
    free(tmp);
    return lbls_fail(rc, err, errlen);
  }
  {
    /* Sample k of the decoded buffer goes to position pos(k) of dst. */
    size_t n = (size_t)rows * (size_t)cols * (size_t)comps;
    size_t plane = (size_t)rows * (size_t)cols;
    int planar = comps > 1 && im == CHARLS_INTERLEAVE_MODE_NONE;
    for (i = 0; i < n; i++) {
      size_t pos = planar ? (i % plane) * (size_t)comps + i / plane : i;
      unsigned v = sb == 1 ? tmp[i] : (unsigned)tmp[2 * i] | (unsigned)tmp[2 * i + 1] << 8;
      if (out_bytes == 1) {
        dst[pos] = (unsigned char)v;
      } else {
        dst[2 * pos] = (unsigned char)v;
        dst[2 * pos + 1] = (unsigned char)(v >> 8);
      }
    }
  }
  free(tmp);
  return 0;
}

int lbls_encode(const void *src, size_t srclen, int rows, int cols, int comps, int bits, int near, unsigned char **out,
                size_t *outlen, char *err, size_t errlen) {
  charls_jpegls_encoder *enc = charls_jpegls_encoder_create();
  charls_frame_info fi;
  charls_jpegls_errc rc;
  size_t cap = 0, written = 0;

  *out = NULL;
  *outlen = 0;
  if (!enc) {
    snprintf(err, errlen, "cannot create encoder");
    return -1;
  }
  fi.width = (uint32_t)cols;
  fi.height = (uint32_t)rows;
  fi.bits_per_sample = bits;
  fi.component_count = comps;
  rc = charls_jpegls_encoder_set_frame_info(enc, &fi);
  if (!rc) rc = charls_jpegls_encoder_set_near_lossless(enc, near);
  if (!rc && comps > 1) rc = charls_jpegls_encoder_set_interleave_mode(enc, CHARLS_INTERLEAVE_MODE_SAMPLE);
  if (!rc) rc = charls_jpegls_encoder_get_estimated_destination_size(enc, &cap);
  if (rc) {
    charls_jpegls_encoder_destroy(enc);
    return lbls_fail(rc, err, errlen);
  }
  *out = malloc(cap);
  if (!*out) {
    charls_jpegls_encoder_destroy(enc);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  rc = charls_jpegls_encoder_set_destination_buffer(enc, *out, cap);
  if (!rc) rc = charls_jpegls_encoder_encode_from_buffer(enc, src, srclen, 0);
  if (!rc) rc = charls_jpegls_encoder_get_bytes_written(enc, &written);
  charls_jpegls_encoder_destroy(enc);
  if (rc) {
    free(*out);
    *out = NULL;
    return lbls_fail(rc, err, errlen);
  }
  *outlen = written;
  return 0;
}
