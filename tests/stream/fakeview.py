"""A small ``LiveView`` for the serving tests: a real ``Mosaic`` fed with synthetic frames,
real ``Hotspot`` records and a real ``EventBus``, driven by the test instead of by the
live processing."""

from __future__ import annotations

import threading

import numpy as np

from dronepipe.geodesy import mgrs_of
from dronepipe.stitching.geoframe import GeoFrame, geoframe
from dronepipe.stitching.grid import MosaicGrid
from dronepipe.stitching.mosaic import Mosaic
from dronepipe.stream.events import EventBus
from dronepipe.stream.payloads import drone_payload, hotspot_payload
from dronepipe.stream.view import DroneState
from dronepipe.thermal.hotspot import Hotspot, HotspotClass
from tests.stitching.synthetic import FRAME, blob, origin_en, pose_at, render, rgb, small_camera, waves

T0 = 1_714_557_600.0  # 2024-05-01T10:00:00Z
ALT_M = 60.0


class FakeView:
    """Implements the ``LiveView`` protocol over state the test sets."""

    def __init__(self) -> None:
        self.events = EventBus()
        self._lock = threading.Lock()
        self._mosaics: dict[str, Mosaic] = {}
        self._hotspots: dict[int, Hotspot] = {}
        self._drone: DroneState | None = None
        self._status: dict[str, object] = {"frames_received": 0, "frames_mosaicked": 0}

    # -- LiveView ------------------------------------------------------------------------
    def mosaic(self, kind: str = "thermal") -> Mosaic | None:
        with self._lock:
            return self._mosaics.get(kind)

    def hotspots(self) -> list[Hotspot]:
        with self._lock:
            return [self._hotspots[i] for i in sorted(self._hotspots)]

    def drone(self) -> DroneState | None:
        with self._lock:
            return self._drone

    def status(self) -> dict[str, object]:
        with self._lock:
            return dict(self._status)

    # -- driven by the test ----------------------------------------------------------------
    def set_mosaic(self, m: Mosaic) -> None:
        with self._lock:
            self._mosaics[m.kind] = m
        self.events.publish("mosaic", {"kind": m.kind, "version": m.version})

    def put_hotspot(self, h: Hotspot) -> None:
        with self._lock:
            self._hotspots[h.id] = h
        self.events.publish("hotspot", hotspot_payload(h))

    def put_drone(self, d: DroneState) -> None:
        with self._lock:
            self._drone = d
        self.events.publish("drone", drone_payload(d))

    def set_status(self, **counters: object) -> None:
        with self._lock:
            self._status.update(counters)
        self.events.publish("status", dict(counters))


def frame_at(de: float, dn: float, i: int = 0, kind: str = "thermal",
             radiometric: bool | None = None) -> GeoFrame:
    """A nadir frame of the small test camera ``de``/``dn`` metres from the origin."""
    return geoframe(f"f{i}", pose_at(de, dn, alt=ALT_M, t=T0 + i), small_camera(), FRAME,
                    kind=kind, radiometric=radiometric)


def grid_around(half_m: float = 60.0, gsd_m: float = 0.25, tile: int = 128) -> MosaicGrid:
    """A grid of ``2 * half_m`` metres square centred on the synthetic origin."""
    e0, n0 = origin_en()
    origin = (np.floor((e0 - half_m) / gsd_m) * gsd_m, np.ceil((n0 + half_m) / gsd_m) * gsd_m)
    side = round(2 * half_m / gsd_m)
    return MosaicGrid(FRAME.epsg, (float(origin[0]), float(origin[1])), gsd_m, side, side, tile)


def hot_pattern(e0: float, n0: float):
    """Waves (20..40 C) with a 300 C fire at ``e0, n0``."""
    w, b = waves(e0, n0), blob(e0, n0, sigma_m=1.0)
    return lambda e, n: w(e, n) + 6.0 * (b(e, n) - 20.0)


def feed(m: Mosaic, de: float, dn: float, i: int, radiometric: bool | None = None) -> GeoFrame:
    """Draw one synthetic frame at ``de``/``dn`` into the mosaic."""
    gf = frame_at(de, dn, i, m.kind, radiometric)
    e0, n0 = origin_en()
    pixels = render(gf, hot_pattern(e0 + 5.0, n0 - 5.0))
    m.feed(gf, pixels if m.kind == "thermal" else rgb(pixels * 5.0))
    return gf


def make_hotspot(i: int, kind: HotspotClass, de: float, dn: float, max_c: float,
                 radiometric: bool = True, seen_s: float = 0.0) -> Hotspot:
    """A hotspot ``de``/``dn`` metres from the synthetic origin."""
    e0, n0 = origin_en()
    e, n = e0 + de, n0 + dn
    lon, lat = (float(x) for x in FRAME.to_lonlat(e, n))
    square = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]) + (e, n)
    return Hotspot(id=i, kind=kind, max_c=max_c, mean_c=max_c - 5, contrast_c=max_c - 15,
                   area_m2=1.0, first_seen_utc_s=T0 + seen_s, last_seen_utc_s=T0 + seen_s + 2,
                   n_frames=3, easting_m=e, northing_m=n, lon_deg=lon, lat_deg=lat,
                   mgrs=mgrs_of(lat, lon), uncertainty_m=1.25, epsg=FRAME.epsg,
                   footprint_m=square, radiometric=radiometric)


def drone_over(gf: GeoFrame, t_utc_s: float, heading_deg: float = 0.0) -> DroneState:
    """The drone's state above a frame, with the frame's footprint as lon/lat."""
    fp = np.asarray(gf.footprint_m)
    lon, lat = FRAME.to_lonlat(fp[:, 0], fp[:, 1])
    e, n = gf.pixels_to_map(80.0, 64.0)[:2]
    clon, clat = FRAME.to_lonlat(e, n)
    return DroneState(t_utc_s, float(clat), float(clon), ALT_M, heading_deg,
                      tuple((float(a), float(b)) for a, b in zip(lon, lat, strict=True)))
