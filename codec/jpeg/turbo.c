/* libjpeg-turbo (libjpeg62-turbo): fast 8-bit DCT decoding, baseline encoding. */
#include <stdio.h>
#include <jpeglib.h>
#include <jerror.h>
#define LBJ_FN(name) lbj_turbo_##name
#include "lbjpeg_impl.h"

/*
 * lbj_turbo_encode compresses rows x cols x comps 8-bit samples (colour by
 * pixel; RGB, or YCbCr when in_ybr) as baseline JPEG: YCbCr 4:2:2 for
 * colour, at the given quality. The result is malloc'd into *out; the
 * caller frees it. Returns 0, or -1 with a message in errbuf.
 */
int lbj_turbo_encode(const unsigned char *src, int rows, int cols, int comps, int in_ybr, int quality,
                     unsigned char **out, unsigned long *outlen, char *errbuf) {
  struct jpeg_compress_struct cinfo;
  struct lbj_turbo_err jerr;
  size_t rowbytes = (size_t)cols * (size_t)comps;

  *out = NULL;
  *outlen = 0;
  errbuf[0] = 0;
  memset(&cinfo, 0, sizeof cinfo);
  memset(&jerr, 0, sizeof jerr);
  cinfo.err = jpeg_std_error(&jerr.pub);
  jerr.pub.error_exit = lbj_turbo_error_exit;
  jerr.pub.emit_message = lbj_turbo_emit_message;
  if (setjmp(jerr.jb)) {
    (*cinfo.err->format_message)((j_common_ptr)&cinfo, errbuf);
    jpeg_destroy_compress(&cinfo);
    free(*out);
    *out = NULL;
    return -1;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, out, outlen);
  cinfo.image_width = (JDIMENSION)cols;
  cinfo.image_height = (JDIMENSION)rows;
  cinfo.input_components = comps;
  cinfo.in_color_space = comps == 3 ? (in_ybr ? JCS_YCbCr : JCS_RGB) : JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  if (comps == 3) {
    jpeg_set_colorspace(&cinfo, JCS_YCbCr);
    cinfo.comp_info[0].h_samp_factor = 2;
    cinfo.comp_info[0].v_samp_factor = 1;
    cinfo.comp_info[1].h_samp_factor = cinfo.comp_info[1].v_samp_factor = 1;
    cinfo.comp_info[2].h_samp_factor = cinfo.comp_info[2].v_samp_factor = 1;
  }
  cinfo.dct_method = JDCT_ISLOW;
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = (JSAMPROW)(src + (size_t)cinfo.next_scanline * rowbytes);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return 0;
}
