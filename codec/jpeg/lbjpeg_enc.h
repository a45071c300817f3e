/*
 * lbjpeg_enc.h: the encoder for GDCM's IJG 6b builds (libgdcmjpeg8/12/16),
 * compiled once per build like lbjpeg_impl.h (which the includer includes
 * first). It writes JPEG Lossless, Process 14 with first-order prediction
 * (Selection Value 1), and lossy extended sequential DCT (Process 2/4) at
 * the library's sample precision. IJG 6b has no memory destination, so a
 * small growing-buffer destination manager is defined here.
 *
 * Safety: errors longjmp out of the library; the caller's samples are
 * copied into library rows masked to the precision, so no out-of-range
 * value reaches the predictor or the DCT tables.
 */

struct LBJ_FN(dest) {
  struct jpeg_destination_mgr pub;
  unsigned char *buf;
  size_t cap;
};

#define LBJ_DEST_CHUNK 65536

static void LBJ_FN(init_destination)(j_compress_ptr c) {
  struct LBJ_FN(dest) *d = (struct LBJ_FN(dest) *)c->dest;
  d->buf = (unsigned char *)malloc(LBJ_DEST_CHUNK);
  if (!d->buf) {
    ERREXIT1(c, JERR_OUT_OF_MEMORY, 0);
  }
  d->cap = LBJ_DEST_CHUNK;
  d->pub.next_output_byte = d->buf;
  d->pub.free_in_buffer = d->cap;
}

static boolean LBJ_FN(empty_output_buffer)(j_compress_ptr c) {
  struct LBJ_FN(dest) *d = (struct LBJ_FN(dest) *)c->dest;
  /* IJG's contract: the whole buffer is full when this is called. */
  size_t used = d->cap;
  unsigned char *nb = (unsigned char *)realloc(d->buf, d->cap * 2);
  if (!nb) {
    ERREXIT1(c, JERR_OUT_OF_MEMORY, 1);
  }
  d->buf = nb;
  d->cap *= 2;
  d->pub.next_output_byte = d->buf + used;
  d->pub.free_in_buffer = d->cap - used;
  return TRUE;
}

static void LBJ_FN(term_destination)(j_compress_ptr c) { (void)c; }

/*
 * encode compresses rows x cols x comps samples of in_bytes bytes each (1,
 * or 2 little endian), colour by pixel, keeping the low `bits` bits of
 * each, into a stream of the library's own precision (IJG 6b encodes only
 * that: 8, 12 or 16; bits <= precision). lossless selects Process 14 SV1; otherwise quality (1..100)
 * sets the quantisation of a sequential DCT stream. Colour is coded as
 * given (no colour transform; RGB stays RGB). The result is malloc'd into
 * *out, which the caller frees. Returns 0, or -1 with a message in errbuf
 * (at least JMSG_LENGTH_MAX bytes).
 */
int LBJ_FN(encode)(const unsigned char *src, int rows, int cols, int comps, int in_bytes, int bits, int precision,
                   int lossless, int quality, unsigned char **out, unsigned long *outlen, char *errbuf) {
  struct jpeg_compress_struct cinfo;
  struct LBJ_FN(err) jerr;
  struct LBJ_FN(dest) dest;
  JSAMPARRAY volatile row = NULL;
  size_t rowsamples = (size_t)cols * (size_t)comps;
  unsigned mask = (bits >= 16) ? 0xFFFFu : ((1u << bits) - 1u);

  *out = NULL;
  *outlen = 0;
  errbuf[0] = 0;
  memset(&cinfo, 0, sizeof cinfo);
  memset(&jerr, 0, sizeof jerr);
  memset(&dest, 0, sizeof dest);
  cinfo.err = jpeg_std_error(&jerr.pub);
  jerr.pub.error_exit = LBJ_FN(error_exit);
  jerr.pub.emit_message = LBJ_FN(emit_message);
  if (setjmp(jerr.jb)) {
    (*cinfo.err->format_message)((j_common_ptr)&cinfo, errbuf);
    jpeg_destroy_compress(&cinfo);
    free(dest.buf);
    return -1;
  }
  if (bits < 1 || bits > precision || precision != BITS_IN_JSAMPLE) {
    snprintf(errbuf, JMSG_LENGTH_MAX, "%d bits in a %d-bit stream (library precision %d)", bits, precision, BITS_IN_JSAMPLE);
    return -1;
  }
  jpeg_create_compress(&cinfo);
  dest.pub.init_destination = LBJ_FN(init_destination);
  dest.pub.empty_output_buffer = LBJ_FN(empty_output_buffer);
  dest.pub.term_destination = LBJ_FN(term_destination);
  cinfo.dest = &dest.pub;
  cinfo.image_width = (JDIMENSION)cols;
  cinfo.image_height = (JDIMENSION)rows;
  cinfo.input_components = comps;
  cinfo.in_color_space = comps == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  cinfo.data_precision = precision;
  if (comps == 3) {
    /* Code the components as they are: no RGB to YCbCr, no subsampling. */
    jpeg_set_colorspace(&cinfo, JCS_RGB);
  }
  if (lossless) {
    jpeg_simple_lossless(&cinfo, 1, 0);
  } else {
    jpeg_set_quality(&cinfo, quality, FALSE);
    cinfo.dct_method = JDCT_ISLOW;
  }
  cinfo.optimize_coding = TRUE;
  row = (*cinfo.mem->alloc_sarray)((j_common_ptr)&cinfo, JPOOL_IMAGE, (JDIMENSION)rowsamples, 1);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    const unsigned char *in = src + (size_t)cinfo.next_scanline * rowsamples * (size_t)in_bytes;
    size_t i;
    for (i = 0; i < rowsamples; i++) {
      unsigned v = in_bytes == 2 ? (unsigned)in[2 * i] | ((unsigned)in[2 * i + 1] << 8) : (unsigned)in[i];
      row[0][i] = (JSAMPLE)(v & mask);
    }
    jpeg_write_scanlines(&cinfo, row, 1);
  }
  jpeg_finish_compress(&cinfo);
  *outlen = (unsigned long)(dest.cap - dest.pub.free_in_buffer);
  *out = dest.buf;
  jpeg_destroy_compress(&cinfo);
  return 0;
}
