/* GDCM's 16-bit IJG build (libgdcmjpeg16): lossless up to 16 bits. */
#include <stdio.h>
#include <gdcmjpeg/16/jpeglib.h>
#include <gdcmjpeg/16/jerror.h>
#define LBJ_FN(name) lbj_ijg16_##name
#include "lbjpeg_impl.h"
#include "lbjpeg_enc.h"
