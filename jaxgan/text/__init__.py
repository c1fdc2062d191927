"""Text side of text-to-image: the caption encoder of the captioned_digits data set."""
