/*
 * Wrapper over OpenJPEG 2.5: decode a J2K codestream or JP2 file held in
 * memory into a caller-sized buffer, and encode a frame losslessly. Errors
 * reported by the library go to a message buffer through its error handler
 * (OpenJPEG never aborts on bad input by design); the decoded image's
 * geometry is checked against the caller's before any sample is copied.
 */
#include <openjpeg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const unsigned char *data;
  OPJ_SIZE_T len, pos;
} lboj_src;

static OPJ_SIZE_T lboj_read(void *buf, OPJ_SIZE_T n, void *user) {
  lboj_src *s = (lboj_src *)user;
  OPJ_SIZE_T left = s->len - s->pos;
  if (left == 0) return (OPJ_SIZE_T)-1;
  if (n > left) n = left;
  memcpy(buf, s->data + s->pos, n);
  s->pos += n;
  return n;
}

static OPJ_OFF_T lboj_skip(OPJ_OFF_T n, void *user) {
  lboj_src *s = (lboj_src *)user;
  if (n < 0) {
    if ((OPJ_SIZE_T)(-n) > s->pos) n = -(OPJ_OFF_T)s->pos;
  } else if ((OPJ_SIZE_T)n > s->len - s->pos) {
    n = (OPJ_OFF_T)(s->len - s->pos);
  }
  s->pos += n;
  return n;
}

static OPJ_BOOL lboj_seek(OPJ_OFF_T n, void *user) {
  lboj_src *s = (lboj_src *)user;
  if (n < 0 || (OPJ_SIZE_T)n > s->len) return OPJ_FALSE;
  s->pos = (OPJ_SIZE_T)n;
  return OPJ_TRUE;
}

typedef struct {
  char *buf;
  size_t len;
} lboj_msg;

static void lboj_error(const char *msg, void *user) {
  lboj_msg *m = (lboj_msg *)user;
  if (m->buf[0] == 0) { /* keep the first, most specific message */
    snprintf(m->buf, m->len, "%s", msg);
    if (strlen(m->buf) > 0 && m->buf[strlen(m->buf) - 1] == '\n') m->buf[strlen(m->buf) - 1] = 0;
  }
}

static void lboj_quiet(const char *msg, void *user) {
  (void)msg;
  (void)user;
}

static int lboj_is_jp2(const unsigned char *p, size_t n) {
  static const unsigned char sig[12] = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A};
  return n >= 12 && memcmp(p, sig, 12) == 0;
}

/*
 * lboj_decode decodes src into dst: rows x cols x comps samples of
 * out_bytes (1 or 2) bytes, little endian, colour by pixel. Returns 0, or
 * -1 with a message in err.
 */
int lboj_decode(const unsigned char *src, size_t srclen, unsigned char *dst, size_t dstlen, int rows, int cols,
                int comps, int out_bytes, int threads, char *err, size_t errlen) {
  lboj_src s = {src, srclen, 0};
  lboj_msg m = {err, errlen};
  opj_dparameters_t params;
  opj_codec_t *codec;
  opj_stream_t *stream;
  opj_image_t *image = NULL;
  int c, ok = 0;
  size_t npx = (size_t)rows * (size_t)cols;

  err[0] = 0;
  if (dstlen != npx * (size_t)comps * (size_t)out_bytes || (out_bytes != 1 && out_bytes != 2)) {
    snprintf(err, errlen, "bad output buffer");
    return -1;
  }
  codec = opj_create_decompress(lboj_is_jp2(src, srclen) ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
  if (!codec) {
    snprintf(err, errlen, "cannot create decoder");
    return -1;
  }
  opj_set_error_handler(codec, lboj_error, &m);
  opj_set_warning_handler(codec, lboj_quiet, NULL);
  opj_set_info_handler(codec, lboj_quiet, NULL);
  opj_set_default_decoder_parameters(&params);
  stream = opj_stream_default_create(OPJ_TRUE);
  if (!stream) {
    opj_destroy_codec(codec);
    snprintf(err, errlen, "cannot create stream");
    return -1;
  }
  opj_stream_set_user_data(stream, &s, NULL);
  opj_stream_set_user_data_length(stream, srclen);
  opj_stream_set_read_function(stream, lboj_read);
  opj_stream_set_skip_function(stream, lboj_skip);
  opj_stream_set_seek_function(stream, lboj_seek);

  if (!opj_setup_decoder(codec, &params)) goto done;
  /* A truncated codestream is an error, not a blurred image. */
  if (!opj_decoder_set_strict_mode(codec, OPJ_TRUE)) goto done;
  if (threads > 1) opj_codec_set_threads(codec, threads);
  if (!opj_read_header(stream, codec, &image)) goto done;
  if ((int)(image->x1 - image->x0) != cols || (int)(image->y1 - image->y0) != rows || (int)image->numcomps != comps) {
    snprintf(err, errlen, "stream is %ux%u with %u components, header says %dx%d with %d", image->x1 - image->x0,
             image->y1 - image->y0, image->numcomps, cols, rows, comps);
    goto done;
  }
  for (c = 0; c < comps; c++) {
    opj_image_comp_t *k = &image->comps[c];
    if (k->dx != 1 || k->dy != 1 || k->prec < 1 || k->prec > (OPJ_UINT32)(8 * out_bytes)) {
      snprintf(err, errlen, "component %d: subsampling %ux%u, %u bits, into %d-byte samples", c, k->dx, k->dy, k->prec,
               out_bytes);
      goto done;
    }
  }
  if (!opj_decode(codec, stream, image) || !opj_end_decompress(codec, stream)) goto done;
  for (c = 0; c < comps; c++) {
    opj_image_comp_t *k = &image->comps[c];
    if (!k->data || k->w != (OPJ_UINT32)cols || k->h != (OPJ_UINT32)rows) {
      snprintf(err, errlen, "component %d decoded to %ux%u", c, k->w, k->h);
      goto done;
    }
  }
  for (c = 0; c < comps; c++) {
    const OPJ_INT32 *d = image->comps[c].data;
    size_t i;
    if (out_bytes == 1) {
      for (i = 0; i < npx; i++) dst[i * comps + c] = (unsigned char)d[i];
    } else {
      for (i = 0; i < npx; i++) {
        size_t o = 2 * (i * comps + c);
        dst[o] = (unsigned char)d[i];
        dst[o + 1] = (unsigned char)((unsigned)d[i] >> 8);
      }
    }
  }
  ok = 1;
done:
  if (!ok && err[0] == 0) snprintf(err, errlen, "decode failed");
  if (image) opj_image_destroy(image);
  opj_stream_destroy(stream);
  opj_destroy_codec(codec);
  return ok ? 0 : -1;
}

typedef struct {
  unsigned char *buf;
  size_t len, cap, pos;
} lboj_dst;

static OPJ_SIZE_T lboj_write(void *p, OPJ_SIZE_T n, void *user) {
  lboj_dst *d = (lboj_dst *)user;
  if (d->pos + n > d->cap) {
    size_t cap = d->cap ? d->cap : 1 << 16;
    unsigned char *nb;
    while (cap < d->pos + n) cap *= 2;
    nb = realloc(d->buf, cap);
    if (!nb) return (OPJ_SIZE_T)-1;
    d->buf = nb;
    d->cap = cap;
  }
  memcpy(d->buf + d->pos, p, n);
  d->pos += n;
  if (d->pos > d->len) d->len = d->pos;
  return n;
}

static OPJ_OFF_T lboj_wskip(OPJ_OFF_T n, void *user) {
  lboj_dst *d = (lboj_dst *)user;
  if (n < 0 && (size_t)(-n) > d->pos) return -1;
  d->pos += n;
  return n;
}

static OPJ_BOOL lboj_wseek(OPJ_OFF_T n, void *user) {
  lboj_dst *d = (lboj_dst *)user;
  if (n < 0) return OPJ_FALSE;
  d->pos = (size_t)n;
  return OPJ_TRUE;
}

/*
 * lboj_encode compresses rows x cols x comps samples (int32, colour by
 * pixel, already reduced to prec bits) as a reversible (lossless) J2K
 * codestream, with the reversible colour transform when mct is set. The
 * result is malloc'd into *out.
 */
int lboj_encode(const int *src, int rows, int cols, int comps, int prec, int sgnd, int mct, unsigned char **out,
                size_t *outlen, char *err, size_t errlen) {
  opj_cparameters_t params;
  opj_image_cmptparm_t cp[4];
  opj_image_t *image;
  opj_codec_t *codec;
  opj_stream_t *stream;
  lboj_dst d = {NULL, 0, 0, 0};
  lboj_msg m = {err, errlen};
  size_t npx = (size_t)rows * (size_t)cols, i;
  int c, ok = 0, res = 1, mn = rows < cols ? rows : cols;

  err[0] = 0;
  *out = NULL;
  *outlen = 0;
  if (comps < 1 || comps > 4) {
    snprintf(err, errlen, "%d components", comps);
    return -1;
  }
  memset(cp, 0, sizeof cp);
  for (c = 0; c < comps; c++) {
    cp[c].dx = cp[c].dy = 1;
    cp[c].w = (OPJ_UINT32)cols;
    cp[c].h = (OPJ_UINT32)rows;
    cp[c].prec = (OPJ_UINT32)prec;
    cp[c].sgnd = (OPJ_UINT32)sgnd;
  }
  image = opj_image_create((OPJ_UINT32)comps, cp, comps >= 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
  if (!image) {
    snprintf(err, errlen, "cannot create image");
    return -1;
  }
  image->x0 = image->y0 = 0;
  image->x1 = (OPJ_UINT32)cols;
  image->y1 = (OPJ_UINT32)rows;
  for (c = 0; c < comps; c++) {
    OPJ_INT32 *p = image->comps[c].data;
    for (i = 0; i < npx; i++) p[i] = src[i * comps + c];
  }
  opj_set_default_encoder_parameters(&params);
  while (res < 6 && (mn >> res) >= 1) res++; /* 2^(res-1) <= smallest side */
  params.numresolution = res;
  params.irreversible = 0;
  params.tcp_numlayers = 1;
  params.tcp_rates[0] = 0;
  params.cp_disto_alloc = 1;
  params.tcp_mct = (char)(comps >= 3 && mct ? 1 : 0);
  codec = opj_create_compress(OPJ_CODEC_J2K);
  opj_set_error_handler(codec, lboj_error, &m);
  opj_set_warning_handler(codec, lboj_quiet, NULL);
  opj_set_info_handler(codec, lboj_quiet, NULL);
  stream = opj_stream_create(1 << 20, OPJ_FALSE);
  opj_stream_set_user_data(stream, &d, NULL);
  opj_stream_set_write_function(stream, lboj_write);
  opj_stream_set_skip_function(stream, lboj_wskip);
  opj_stream_set_seek_function(stream, lboj_wseek);
  if (opj_setup_encoder(codec, &params, image) && opj_start_compress(codec, image, stream) &&
      opj_encode(codec, stream) && opj_end_compress(codec, stream)) {
    ok = 1;
  }
  opj_stream_destroy(stream);
  opj_destroy_codec(codec);
  opj_image_destroy(image);
  if (!ok) {
    free(d.buf);
    if (err[0] == 0) snprintf(err, errlen, "encode failed");
    return -1;
  }
  *out = d.buf;
  *outlen = d.len;
  return 0;
}
