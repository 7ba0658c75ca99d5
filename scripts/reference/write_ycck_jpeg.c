/* Writes a YCCK JPEG (Adobe APP14 transform 2), which Pillow cannot write, for make_pillow_fixtures.py.
   Usage: write_ycck_jpeg WIDTH HEIGHT OUT.jpg < pixels (WIDTH*HEIGHT*4 bytes, the samples as stored: Adobe's
   inverted CMYK, as Pillow's "CMYK;I" writes them). Build: cc write_ycck_jpeg.c -ljpeg */
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s WIDTH HEIGHT OUT.jpg < cmyk\n", argv[0]); return 2; }
    int w = atoi(argv[1]), h = atoi(argv[2]);
    unsigned char *pixels = malloc((size_t)w * h * 4);
    if (fread(pixels, 4, (size_t)w * h, stdin) != (size_t)w * h) { fprintf(stderr, "short input\n"); return 1; }
    FILE *out = fopen(argv[3], "wb");
    if (!out) { perror(argv[3]); return 1; }
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, out);
    c.image_width = w;
    c.image_height = h;
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, JCS_YCCK);   /* also writes the Adobe marker with transform 2 */
    jpeg_set_quality(&c, 92, TRUE);
    jpeg_start_compress(&c, TRUE);
    for (int y = 0; y < h; y++) {
        JSAMPROW row = pixels + (size_t)y * w * 4;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(out);
    free(pixels);
    return 0;
}
