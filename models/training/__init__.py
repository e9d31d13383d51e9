"""Training MC-dropout segmentation networks: synthetic street scenes or a user's labelled folder."""
