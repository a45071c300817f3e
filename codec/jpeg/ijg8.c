/* GDCM's 8-bit IJG build (libgdcmjpeg8): lossless JPEG of 2..8 bits. */
#include <stdio.h>
#include <gdcmjpeg/8/jpeglib.h>
#include <gdcmjpeg/8/jerror.h>
#define LBJ_FN(name) lbj_ijg8_##name
#include "lbjpeg_impl.h"
#include "lbjpeg_enc.h"
