/* GDCM's 12-bit IJG build (libgdcmjpeg12): 12-bit DCT and lossless up to 12 bits. */
#include <stdio.h>
#include <gdcmjpeg/12/jpeglib.h>
#include <gdcmjpeg/12/jerror.h>
#define LBJ_FN(name) lbj_ijg12_##name
#include "lbjpeg_impl.h"
#include "lbjpeg_enc.h"
