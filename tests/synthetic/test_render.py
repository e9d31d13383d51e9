"""Labels are painted with exactly the masks that paint the image."""

from __future__ import annotations

import dataclasses

import numpy as np

from synthetic.camera import Camera
from synthetic.classes import CAR, PEDESTRIAN, ROAD, SKY, TRANSPARENT
from synthetic.motion import make_plan
from synthetic.render import Canvas, draw_billboard, draw_car
from synthetic.sprite_canvas import Sprite
from synthetic.street import Street
from synthetic.vehicles import car_model

CAMERA = Camera(width=96, height=72, focal=80.0, x=0.0, y=1.5, z=0.0, yaw=0.1, pitch=0.05)


def test_a_car_of_known_colour_is_labelled_exactly_where_it_is_drawn() -> None:
    model = car_model((1, 2, 3), (90, 90, 90))
    colour = (10, 200, 10)
    model = dataclasses.replace(model, parts=tuple(dataclasses.replace(p, color=colour) for p in model.parts))
    canvas = Canvas(96, 72, with_depth=True)
    draw_car(canvas, CAMERA, model, x=1.0, z=9.0, heading=1)
    drawn = np.all(canvas.image == colour, axis=2)
    labelled = canvas.labels == CAR
    assert labelled.sum() > 200
    np.testing.assert_array_equal(drawn, labelled)
    assert np.all(canvas.labels[~labelled] == SKY)
    assert np.all(canvas.inv_depth[labelled] > 0)


def test_a_billboard_is_labelled_exactly_where_it_is_drawn() -> None:
    image = np.zeros((40, 16, 3), np.uint8)
    labels = np.full((40, 16), TRANSPARENT, np.uint8)
    image[5:35, 3:13] = (200, 30, 40)
    labels[5:35, 3:13] = PEDESTRIAN
    image[labels == TRANSPARENT] = (200, 30, 40)  # as SpriteCanvas does: no halo colour
    sprite = Sprite(image, labels, 0.6, 1.5)
    for z in (3.0, 12.0):  # magnified and minified
        canvas = Canvas(96, 72, with_depth=False)
        draw_billboard(canvas, CAMERA, sprite, x=0.5, z=z)
        labelled = canvas.labels == PEDESTRIAN
        assert labelled.sum() > 10
        np.testing.assert_array_equal(np.all(canvas.image == (200, 30, 40), axis=2), labelled)


def test_label_classes_have_their_expected_colours_in_a_clean_render() -> None:
    street = Street(11, 160, 120)
    canvas, _ = street.render(make_plan(street.style, "drive", 0), 1.0)
    sky = canvas.image[canvas.labels == SKY].astype(float)
    road = canvas.image[canvas.labels == ROAD].astype(float)
    assert sky.mean() > 120  # bright
    asphalt = np.array(street.style.asphalt, float)
    assert np.abs(np.median(road, axis=0) - asphalt).max() < 40
