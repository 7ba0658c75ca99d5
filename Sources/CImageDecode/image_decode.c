// PNG (libpng) and JPEG (libjpeg-turbo) decoding with the libraries' error exits caught by setjmp, which Swift
// cannot do: a corrupt or hostile file becomes an error message, never a process exit.
#include "image_decode.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>
#include <jpeglib.h>
#include <jerror.h>

void darkroom_image_free(darkroom_image *image) {
    free(image->pixels8);
    free(image->pixels16);
    image->pixels8 = NULL;
    image->pixels16 = NULL;
}

/* ---- PNG ---- */

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
    char *message;
    size_t message_size;
} png_source;

static void png_read_memory(png_structp png, png_bytep out, png_size_t count) {
    png_source *source = (png_source *)png_get_io_ptr(png);
    if (source->offset + count > source->size) png_error(png, "read beyond end of data (the file is truncated)");
    memcpy(out, source->data + source->offset, count);
    source->offset += count;
}

static void png_fail(png_structp png, png_const_charp text) {
    png_source *source = (png_source *)png_get_error_ptr(png);
    snprintf(source->message, source->message_size, "%s", text);
    png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp text) { (void)png; (void)text; }

int darkroom_png_decode(const uint8_t *data, size_t size, long max_pixels, darkroom_image *out, char *message, size_t message_size) {
    memset(out, 0, sizeof *out);
    png_source source = {data, size, 0, message, message_size};
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        snprintf(message, message_size, "not a PNG file");
        return 1;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, png_fail, png_quiet);
    if (!png) { snprintf(message, message_size, "out of memory"); return 1; }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        snprintf(message, message_size, "out of memory");
        return 1;
    }
    png_bytep *volatile rows = NULL;
    volatile int status = 1;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        darkroom_image_free(out);
        png_destroy_read_struct(&png, &info, NULL);
        return status;
    }
    png_set_read_fn(png, &source, png_read_memory);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    out->width = (int)width;
    out->height = (int)height;
    if ((long)width * (long)height > max_pixels) {
        snprintf(message, message_size, "%ux%u pixels is over the %ld-pixel limit (refused before decoding)", width, height, max_pixels);
        status = DARKROOM_TOO_LARGE;
        png_longjmp(png, 1);
    }
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    int has_alpha = (color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS);
    out->channels = ((color & PNG_COLOR_MASK_COLOR) || color == PNG_COLOR_TYPE_PALETTE ? 3 : 1) + (has_alpha ? 1 : 0);
    // Stored values only: expand palettes, low depths and tRNS; gray to RGB; add opaque alpha. No gamma call is
    // made, so gAMA, cHRM, sRGB and iCCP change nothing (as in Pillow).
    png_set_expand(png);
    png_set_gray_to_rgb(png);
    if (!has_alpha) png_set_add_alpha(png, depth == 16 ? 0xFFFF : 0xFF, PNG_FILLER_AFTER);
    if (depth == 16) png_set_swap(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    out->width = (int)width;
    out->height = (int)height;
    out->depth = depth == 16 ? 16 : 8;
    uint8_t *buffer = malloc(row_bytes * height);
    if (!buffer) png_error(png, "out of memory");
    if (out->depth == 16) out->pixels16 = (uint16_t *)buffer; else out->pixels8 = buffer;
    rows = malloc(sizeof(png_bytep) * height);
    if (!rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = buffer + y * row_bytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

/* ---- JPEG ---- */

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
} jpeg_failure;

static void jpeg_fail(j_common_ptr cinfo) {
    longjmp(((jpeg_failure *)cinfo->err)->jump, 1);
}

// Running out of data is an error here: libjpeg pads a truncated file with gray and only warns, where Pillow refuses
// it ("image file is truncated"); a half-copied photo must not become a job. Other warnings (extraneous bytes before
// a marker, as many cameras write) are ignored, as Pillow ignores them.
static void jpeg_warn(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_fail(cinfo);
}

// Pillow's a·b/255 rounded (MULDIV255 in its Convert.c).
static inline int muldiv255(int a, int b) {
    int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}

// One pixel of an inverted CMYK sample (as an Adobe JPEG stores it) to RGBA, as Pillow's "CMYK;I" unpacking followed
// by cmyk2rgb: with C = 255 - stored and K likewise, R = (255 - K) - (C (255 - K) / 255), and so on.
static void cmyk_to_rgb(const uint8_t *stored, uint8_t *rgba) {
    int nk = stored[3];   // 255 - K
    for (int c = 0; c < 3; c++) {
        int v = nk - muldiv255(255 - stored[c], nk);
        rgba[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    rgba[3] = 255;
}

int darkroom_jpeg_decode(const uint8_t *data, size_t size, long max_pixels, darkroom_image *out, char *message, size_t message_size) {
    memset(out, 0, sizeof *out);
    struct jpeg_decompress_struct cinfo;
    memset(&cinfo, 0, sizeof cinfo);
    jpeg_failure failure;
    cinfo.err = jpeg_std_error(&failure.base);
    failure.base.error_exit = jpeg_fail;
    failure.base.emit_message = jpeg_warn;
    uint8_t *volatile rgb = NULL;
    if (setjmp(failure.jump)) {
        char text[JMSG_LENGTH_MAX];
        (*cinfo.err->format_message)((j_common_ptr)&cinfo, text);
        snprintf(message, message_size, "%s", text);
        free(rgb);
        darkroom_image_free(out);
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    out->width = (int)cinfo.image_width;
    out->height = (int)cinfo.image_height;
    if ((long)cinfo.image_width * (long)cinfo.image_height > max_pixels) {
        snprintf(message, message_size, "%ux%u pixels is over the %ld-pixel limit (refused before decoding)",
                 cinfo.image_width, cinfo.image_height, max_pixels);
        jpeg_destroy_decompress(&cinfo);
        return DARKROOM_TOO_LARGE;
    }
    out->channels = cinfo.num_components == 1 ? 1 : 3;
    // CMYK and YCCK (libjpeg turns YCCK into CMYK) are read as Pillow reads them: the samples as Adobe stores them,
    // inverted ("CMYK;I"), then Pillow's cmyk2rgb. Everything else libjpeg converts to RGB itself.
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    rgb = malloc((size_t)w * 4);
    out->pixels8 = malloc((size_t)w * (size_t)h * 4);
    if (!rgb || !out->pixels8) {
        snprintf(message, message_size, "out of memory");
        free(rgb);
        darkroom_image_free(out);
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        int y = (int)cinfo.output_scanline;
        JSAMPROW row = rgb;
        jpeg_read_scanlines(&cinfo, &row, 1);
        uint8_t *dst = out->pixels8 + (size_t)y * (size_t)w * 4;
        if (cmyk) {
            for (int x = 0; x < w; x++) cmyk_to_rgb(rgb + 4 * x, dst + 4 * x);
            continue;
        }
        for (int x = 0; x < w; x++) {
            dst[4 * x] = rgb[3 * x];
            dst[4 * x + 1] = rgb[3 * x + 1];
            dst[4 * x + 2] = rgb[3 * x + 2];
            dst[4 * x + 3] = 255;
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(rgb);
    out->width = w;
    out->height = h;
    out->depth = 8;
    return 0;
}
