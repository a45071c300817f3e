/*
 * lbjpeg_impl.h: one decoder (and, for libjpeg-turbo, encoder) written once
 * against the libjpeg 6b API and compiled four times: against libjpeg-turbo
 * and against GDCM's 8-, 12- and 16-bit IJG builds, whose headers cannot
 * share a translation unit. The includer defines LBJ_FN(name) and includes
 * the right jpeglib.h and jerror.h first.
 *
 * Safety: errors longjmp out of the library (never exit()); the stream's
 * geometry is checked against what the caller expects before any sample is
 * written; every scanline is written inside dst; a truncated stream is an
 * error, not a grey tail; progressive streams are capped at LBJ_MAX_SCANS
 * scans (a known CPU-exhaustion vector).
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LBJ_MAX_SCANS
#define LBJ_MAX_SCANS 1000
#endif

struct LBJ_FN(err) {
  struct jpeg_error_mgr pub;
  jmp_buf jb;
  int eof_warnings;
  int too_many_scans;
};

static void LBJ_FN(error_exit)(j_common_ptr c) {
  struct LBJ_FN(err) *e = (struct LBJ_FN(err) *)c->err;
  longjmp(e->jb, 1);
}

static void LBJ_FN(emit_message)(j_common_ptr c, int level) {
  struct LBJ_FN(err) *e = (struct LBJ_FN(err) *)c->err;
  if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) {
    e->eof_warnings++;
  }
}

static void LBJ_FN(progress)(j_common_ptr c) {
  if (c->is_decompressor && ((j_decompress_ptr)c)->input_scan_number > LBJ_MAX_SCANS) {
    struct LBJ_FN(err) *e = (struct LBJ_FN(err) *)c->err;
    e->too_many_scans = 1;
    longjmp(e->jb, 1);
  }
}

static void LBJ_FN(init_source)(j_decompress_ptr c) { (void)c; }
static void LBJ_FN(term_source)(j_decompress_ptr c) { (void)c; }

static boolean LBJ_FN(fill_input_buffer)(j_decompress_ptr c) {
  static const JOCTET eoi[2] = {0xFF, JPEG_EOI};
  WARNMS(c, JWRN_JPEG_EOF);
  c->src->next_input_byte = eoi;
  c->src->bytes_in_buffer = 2;
  return TRUE;
}

static void LBJ_FN(skip_input_data)(j_decompress_ptr c, long n) {
  if (n <= 0) {
    return;
  }
  while (n > (long)c->src->bytes_in_buffer) {
    n -= (long)c->src->bytes_in_buffer;
    (void)LBJ_FN(fill_input_buffer)(c);
  }
  c->src->next_input_byte += n;
  c->src->bytes_in_buffer -= (size_t)n;
}

/*
 * decode decompresses src into dst, which must hold exactly rows x cols x
 * comps samples of out_bytes bytes (1, or 2 to widen 8-bit samples or hold
 * 12/16-bit ones), little endian. to_rgb asks for YCbCr to RGB conversion;
 * otherwise colour components pass through untouched. *converted is set
 * when a conversion happened. Returns 0, or -1 with a message in errbuf
 * (at least JMSG_LENGTH_MAX bytes).
 */
int LBJ_FN(decode)(const unsigned char *src, size_t srclen, unsigned char *dst, size_t dstlen,
                   int rows, int cols, int comps, int to_rgb, int out_bytes, char *errbuf,
                   int *converted) {
  struct jpeg_decompress_struct cinfo;
  struct LBJ_FN(err) jerr;
  struct jpeg_source_mgr srcmgr;
  struct jpeg_progress_mgr prog;
  JSAMPARRAY volatile buf = NULL;
  size_t rowsamples, rowbytes;

  *converted = 0;
  errbuf[0] = 0;
  memset(&cinfo, 0, sizeof cinfo);
  memset(&jerr, 0, sizeof jerr);
  cinfo.err = jpeg_std_error(&jerr.pub);
  jerr.pub.error_exit = LBJ_FN(error_exit);
  jerr.pub.emit_message = LBJ_FN(emit_message);
  if (setjmp(jerr.jb)) {
    if (jerr.too_many_scans) {
      snprintf(errbuf, JMSG_LENGTH_MAX, "more than %d scans", LBJ_MAX_SCANS);
    } else {
      (*cinfo.err->format_message)((j_common_ptr)&cinfo, errbuf);
    }
    jpeg_destroy_decompress(&cinfo);
    return -1;
  }
  jpeg_create_decompress(&cinfo);
  memset(&srcmgr, 0, sizeof srcmgr);
  srcmgr.init_source = LBJ_FN(init_source);
  srcmgr.fill_input_buffer = LBJ_FN(fill_input_buffer);
  srcmgr.skip_input_data = LBJ_FN(skip_input_data);
  srcmgr.resync_to_restart = jpeg_resync_to_restart;
  srcmgr.term_source = LBJ_FN(term_source);
  srcmgr.next_input_byte = src;
  srcmgr.bytes_in_buffer = srclen;
  cinfo.src = &srcmgr;
  memset(&prog, 0, sizeof prog);
  prog.progress_monitor = LBJ_FN(progress);
  cinfo.progress = &prog;

  jpeg_read_header(&cinfo, TRUE);
  if ((int)cinfo.image_width != cols || (int)cinfo.image_height != rows || cinfo.num_components != comps) {
    snprintf(errbuf, JMSG_LENGTH_MAX, "stream is %ux%u with %d components, header says %dx%d with %d",
             (unsigned)cinfo.image_width, (unsigned)cinfo.image_height, cinfo.num_components, cols, rows, comps);
    jpeg_destroy_decompress(&cinfo);
    return -1;
  }
  if (comps == 3 && to_rgb) {
    cinfo.out_color_space = JCS_RGB;
  } else if (comps != 1) {
    cinfo.jpeg_color_space = JCS_UNKNOWN;
    cinfo.out_color_space = JCS_UNKNOWN;
  }
  *converted = comps == 3 && to_rgb && cinfo.jpeg_color_space != JCS_RGB;
  cinfo.dct_method = JDCT_ISLOW;
  jpeg_start_decompress(&cinfo);
  rowsamples = (size_t)cols * (size_t)comps;
  rowbytes = rowsamples * (size_t)out_bytes;
  if ((int)cinfo.output_width != cols || (int)cinfo.output_height != rows || cinfo.output_components != comps ||
      rowbytes * (size_t)rows != dstlen || (out_bytes != 1 && out_bytes != 2) ||
      (size_t)out_bytes < sizeof(JSAMPLE)) {
    snprintf(errbuf, JMSG_LENGTH_MAX, "decoder output %ux%u x %d does not fit the %lu-byte frame",
             (unsigned)cinfo.output_width, (unsigned)cinfo.output_height, cinfo.output_components,
             (unsigned long)dstlen);
    jpeg_destroy_decompress(&cinfo);
    return -1;
  }
  if ((size_t)out_bytes != sizeof(JSAMPLE)) {
    buf = (*cinfo.mem->alloc_sarray)((j_common_ptr)&cinfo, JPOOL_IMAGE, (JDIMENSION)rowsamples, 1);
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    unsigned char *out = dst + (size_t)cinfo.output_scanline * rowbytes;
    JSAMPROW row = buf ? buf[0] : (JSAMPROW)out;
    if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) {
      snprintf(errbuf, JMSG_LENGTH_MAX, "decoder stalled at line %u", (unsigned)cinfo.output_scanline);
      jpeg_destroy_decompress(&cinfo);
      return -1;
    }
    if (buf) { /* 8-bit samples widened to 16-bit little endian */
      size_t i;
      for (i = 0; i < rowsamples; i++) {
        out[2 * i] = (unsigned char)row[i];
        out[2 * i + 1] = 0;
      }
    }
    if (jerr.eof_warnings) {
      snprintf(errbuf, JMSG_LENGTH_MAX, "stream ends at line %u of %d", (unsigned)cinfo.output_scanline, rows);
      jpeg_destroy_decompress(&cinfo);
      return -1;
    }
  }
  /* A missing EOI after the last scan is common and harmless. */
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return 0;
}
