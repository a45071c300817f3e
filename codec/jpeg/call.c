#include <stddef.h>
typedef int (*lbj_decode_fn)(const unsigned char *, size_t, unsigned char *, size_t, int, int, int, int, int, char *, int *);

/* lbj_call calls a decoder through its pointer (cgo cannot call C function pointers). */
int lbj_call(lbj_decode_fn fn, const unsigned char *src, size_t srclen, unsigned char *dst, size_t dstlen, int rows,
             int cols, int comps, int to_rgb, int out_bytes, char *errbuf, int *converted) {
  return fn(src, srclen, dst, dstlen, rows, cols, comps, to_rgb, out_bytes, errbuf, converted);
}
