"""Pictures for people (label overlays, heat maps, panels): the client package's drawing, shared."""

from vqseg_client.drawing import caption, colorize_labels, heatmap, legend, overlay, side_by_side

__all__ = ["caption", "colorize_labels", "heatmap", "legend", "overlay", "side_by_side"]
