#ifndef DARKROOM_IMAGE_DECODE_H
#define DARKROOM_IMAGE_DECODE_H

#include <stddef.h>
#include <stdint.h>

/// A decoded image: `width` × `height` pixels of 4 samples (R, G, B, A) each, 8-bit (`depth` 8, `pixels8`) or
/// 16-bit (`depth` 16, `pixels16`, little-endian: the byte order of the x86-64 and arm64 hosts Darkroom runs on),
/// the values exactly as stored: no gamma, no colour management.
typedef struct {
    int width;
    int height;
    int depth;
    uint8_t *pixels8;
    uint16_t *pixels16;
    /// Channels in the file (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA; palette files count as 3 or 4).
    int channels;
} darkroom_image;

/// The status of a decode refused because the image has more than `max_pixels` pixels (other errors return 1).
#define DARKROOM_TOO_LARGE 2

/// Decodes a PNG from memory (every colour type and depth, interlaced too). Returns 0 on success; otherwise fills
/// `message` with libpng's reason. Images over `max_pixels` are refused from the header. Free with
/// `darkroom_image_free`.
int darkroom_png_decode(const uint8_t *data, size_t size, long max_pixels, darkroom_image *out, char *message, size_t message_size);

/// Decodes a baseline or progressive JPEG (gray, YCbCr or RGB) from memory to RGBA 8-bit, alpha 255, as libjpeg-turbo
/// does with its defaults (accurate integer IDCT, fancy upsampling), the same as Pillow. EXIF orientation is not
/// applied here. Returns 0 on success; otherwise fills `message`.
int darkroom_jpeg_decode(const uint8_t *data, size_t size, long max_pixels, darkroom_image *out, char *message, size_t message_size);

void darkroom_image_free(darkroom_image *image);

#endif
