"""One generated street (a world): its textures, object looks, and how to paint it from a camera."""

from __future__ import annotations

import math

import numpy as np

from synthetic import people, street_props
from synthetic.camera import Camera
from synthetic.facades import FACADE_PPM, MAX_HEIGHT, facade_texture
from synthetic.keyed_random import generator
from synthetic.motion import CameraPlan, camera_at
from synthetic.placement import Instance, instances
from synthetic.render import Canvas, darken_ground, draw_billboard, draw_car, draw_plane, draw_sky
from synthetic.sprite_canvas import Sprite
from synthetic.textures import PERIOD, Texture, ground_texture, sky_panorama
from synthetic.vehicles import CarModel, car_model
from synthetic.world import WorldStyle, focal_length, make_style

FAR = 400.0  # metres: the ground and facades end here
KEEP_OUT = 2.5  # metres around a standing camera kept free of objects
SHADOW_RANGE = 45.0  # metres: shadows of objects further away are not drawn
FACADE_BEHIND, FACADE_AHEAD = 30.0, 300.0  # metres of facade drawn behind / ahead of the camera
_CACHE_LIMIT = 3000


def _unrolled(texture: Texture) -> Texture:
    """The periodic facade repeated to cover [-FACADE_BEHIND, PERIOD + FACADE_AHEAD] metres, so frames can
    sample it without wrap-around (much faster than cv2.BORDER_WRAP for the mostly empty facade boxes)."""
    ppm = texture.ppm
    cols = int((FACADE_BEHIND + PERIOD + FACADE_AHEAD) * ppm)
    index = (np.arange(cols) - int(FACADE_BEHIND * ppm)) % texture.labels.shape[1]
    return Texture(np.ascontiguousarray(texture.image[:, index]), np.ascontiguousarray(texture.labels[:, index]),
                   ppm, -FACADE_BEHIND)


class Street:
    def __init__(self, seed: int, width: int, height: int) -> None:
        self.style: WorldStyle = make_style(seed)
        self.width, self.height = width, height
        s = self.style
        self.facade_left, left_buildings = facade_texture(s, generator(seed, 1), -1)
        self.facade_right, right_buildings = facade_texture(s, generator(seed, 2), 1)
        self.facade_left, self.facade_right = _unrolled(self.facade_left), _unrolled(self.facade_right)
        shadows = []
        if s.shadow_length > 0:  # buildings on the sun's side throw shadows across the street
            x_f = s.facade_left if s.sun_side < 0 else s.facade_right
            for b in left_buildings if s.sun_side < 0 else right_buildings:
                reach = -s.sun_side * b.height * s.shadow_length
                skew = 0.3 * abs(reach)
                shadows.append(np.array([(x_f, b.z0), (x_f, b.z1), (x_f + reach, b.z1 + skew),
                                         (x_f + reach, b.z0 + skew)]))
        self.ground = ground_texture(s, generator(seed, 3), shadows)
        focal = focal_length(s, width)
        self.sky = sky_panorama(s, generator(seed, 4), focal, width, height)
        self.sky_circumference = int(2 * math.pi * focal)
        self._sprites: dict[tuple, Sprite] = {}
        self._cars: dict[tuple, CarModel] = {}

    # --- painting -----------------------------------------------------------------------------
    def render(self, plan: CameraPlan, t: float, with_depth: bool = False) -> tuple[Canvas, Camera]:
        cam = camera_at(plan, self.style, t, self.width, self.height)
        canvas = Canvas(self.width, self.height, with_depth)
        draw_sky(canvas, cam, self.sky, self.sky_circumference)
        self._draw_surfaces(canvas, cam)
        keep_out = 0.0 if plan.speed > 0 else KEEP_OUT  # a standing camera is never inside an object
        objects, depths = self._visible(cam, list(instances(self.style, plan, cam.z, t)), keep_out)
        for obj, depth in zip(objects, depths, strict=True):
            if depth < (SHADOW_RANGE if obj.kind in ("car", "parked", "tree") else 0.4 * SHADOW_RANGE):
                self._shadow(canvas, cam, obj)
        for _, i in sorted(zip(depths, range(len(objects)), strict=True), reverse=True):
            self._draw(canvas, cam, objects[i])
        return canvas, cam

    def _draw_surfaces(self, canvas: Canvas, cam: Camera) -> None:
        z_base = math.floor(cam.z / PERIOD) * PERIOD
        z_near, z_far = cam.z - 60.0, cam.z + FAR
        g = self.ground
        x_ext = -g.origin
        ground_map = np.array([[1 / g.ppm, 0, g.origin + 0.5 / g.ppm], [0, 0, 0], [0, 1 / g.ppm, z_base + 0.5 / g.ppm]])
        x_ext -= 1.0
        quad = np.array([(-x_ext, 0, z_near), (x_ext, 0, z_near), (x_ext, 0, z_far), (-x_ext, 0, z_far)])
        draw_plane(canvas, cam, g, ground_map, quad, wrap=True)
        ppm = FACADE_PPM
        z0 = z_base - FACADE_BEHIND + 0.5 / ppm  # the unrolled textures start FACADE_BEHIND before z_base
        z_near, z_far = cam.z - FACADE_BEHIND + 1.0, cam.z + FACADE_AHEAD - 1.0
        for x_f, tex in ((self.style.facade_left, self.facade_left), (self.style.facade_right, self.facade_right)):
            plane_map = np.array([[0, 0, x_f], [0, -1 / ppm, MAX_HEIGHT - 0.5 / ppm], [1 / ppm, 0, z0]])
            top = MAX_HEIGHT - 0.5
            quad = np.array([(x_f, 0, z_near), (x_f, 0, z_far), (x_f, top, z_far), (x_f, top, z_near)])
            draw_plane(canvas, cam, tex, plane_map, quad, wrap=False)

    @staticmethod
    def _visible(cam: Camera, objects: list[Instance], keep_out: float) -> tuple[list[Instance], list[float]]:
        """The objects inside the view (with a margin for their size) and their depths."""
        if not objects:
            return [], []
        ref = np.array([(o.x, 0.0, o.z + o.length / 2) for o in objects])
        pts = cam.to_camera(ref)
        radius = np.array([max(o.length / 2, 6.0) for o in objects])
        half_width = cam.width / (2 * cam.focal)
        inside = (pts[:, 2] > -radius) & (np.abs(pts[:, 0]) < pts[:, 2] * half_width + radius + 3.0)
        if keep_out > 0:
            half = np.array([o.length / 2 for o in objects])
            near_z = np.clip(cam.z, ref[:, 2] - half, ref[:, 2] + half)
            reach = np.array([3.5 if o.kind == "tree" else 0.0 for o in objects])
            inside &= np.hypot(ref[:, 0] - cam.x, near_z - cam.z) > keep_out + reach
        keep = np.flatnonzero(inside)
        return [objects[i] for i in keep], [float(pts[i, 2]) for i in keep]

    def _shadow(self, canvas: Canvas, cam: Camera, obj: Instance) -> None:
        s = self.style
        if obj.kind in ("car", "parked"):
            model = self._car(obj)
            hw, hl = model.width / 2 + 0.12, model.length / 2 + 0.1
            reach = -s.sun_side * s.shadow_length * 0.6
            poly = np.array([(-hw, -hl), (hw, -hl), (hw + max(reach, 0), hl), (-hw + min(reach, 0), hl)])
            poly[:, 0] += obj.x + np.where(poly[:, 0] > 0, max(reach, 0), min(reach, 0)) * 0.5
            poly[:, 1] += obj.z
            darken_ground(canvas, cam, poly, 0.55)
        elif obj.kind in ("tree", "pedestrian", "cyclist") and s.shadow_length > 0:
            radius = 1.6 if obj.kind == "tree" else 0.35
            offset = -s.sun_side * s.shadow_length * (3.0 if obj.kind == "tree" else 0.7)
            ang = np.linspace(0, 2 * np.pi, 13)[:-1]
            poly = np.stack([obj.x + offset + radius * np.cos(ang), obj.z + 0.6 * radius * np.sin(ang)], 1)
            darken_ground(canvas, cam, poly, 0.65)

    def _draw(self, canvas: Canvas, cam: Camera, obj: Instance) -> None:
        if obj.kind in ("car", "parked"):
            draw_car(canvas, cam, self._car(obj), obj.x, obj.z, obj.heading)
        elif obj.kind == "fence":
            sprite = self._sprite(("fence", *obj.keys), lambda: street_props.fence(obj.keys, obj.length))
            ppm = sprite.labels.shape[1] / sprite.width_m
            h = sprite.height_m
            plane_map = np.array([[0, 0, obj.x], [0, -1 / ppm, h - 0.5 / ppm], [1 / ppm, 0, obj.z + 0.5 / ppm]])
            z1 = obj.z + sprite.width_m
            quad = np.array([(obj.x, 0, obj.z), (obj.x, 0, z1), (obj.x, h, z1), (obj.x, h, obj.z)])
            draw_plane(canvas, cam, sprite, plane_map, quad, wrap=False)
        else:
            draw_billboard(canvas, cam, self._billboard(cam, obj), obj.x, obj.z)

    def _billboard(self, cam: Camera, obj: Instance) -> Sprite:
        keys = obj.keys
        if obj.kind in ("tree", "bush"):
            bush = obj.kind == "bush"
            return self._sprite((obj.kind, *keys), lambda: street_props.tree(keys, self.style.autumn, bush))
        if obj.kind == "lamp":
            return self._sprite(("lamp", *keys), lambda: street_props.lamp(keys, obj.x < 0))
        if obj.kind == "sign":
            return self._sprite(("sign", *keys), lambda: street_props.sign(keys))
        if obj.kind == "light":
            state = int(obj.phase)
            return self._sprite(("light", *keys, state), lambda: street_props.traffic_light(keys, state))
        angle = math.atan2(abs(obj.x - cam.x), max(obj.z - cam.z, 1e-3))
        step = int(obj.phase / (2 * math.pi) * 8) % 8
        phase = step * 2 * math.pi / 8
        flip = obj.heading * (obj.x - cam.x) > 0
        if obj.kind == "pedestrian":
            view = "side" if angle > 0.9 else ("front" if obj.heading < 0 else "back")
            return self._sprite(("ped", *keys, view, step, flip),
                                lambda: people.pedestrian(keys, view, phase, flip and view == "side"))
        view = "side" if angle > 0.5 else "rear"
        return self._sprite(("bike", *keys, view, step, flip),
                            lambda: people.cyclist(keys, view, phase, flip and view == "side"))

    def _sprite(self, key: tuple, make) -> Sprite:  # type: ignore[no-untyped-def]
        sprite = self._sprites.get(key)
        if sprite is None:
            if len(self._sprites) > _CACHE_LIMIT:
                self._sprites.clear()
            sprite = self._sprites[key] = make()
        return sprite

    def _car(self, obj: Instance) -> CarModel:
        model = self._cars.get(obj.keys)
        if model is None:
            if len(self._cars) > _CACHE_LIMIT:
                self._cars.clear()
            model = self._cars[obj.keys] = car_model(obj.keys, self.style.asphalt)
        return model
