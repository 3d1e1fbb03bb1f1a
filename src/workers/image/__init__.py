"""Pillow helpers of the image stages: opening untrusted images, colour, the resize ladder, EXIF,
the placeholder. The stages (``workers/stages/``) import these, never the other way round."""
