"""MediaPipe's face mesh as a surface: its triangles, wound consistently, and which of its points a
photo cannot show (on a turned face, the far side's outline lies behind the nose and cheek)."""
from collections import defaultdict
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from engines import topology as topo


@lru_cache(maxsize=1)
def triangles() -> np.ndarray:
    """T x 3 point indices of the mesh's faces, all wound the same way round the surface."""
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION
    edges = {tuple(sorted(e)) for e in FACEMESH_TESSELATION}
    nbrs = defaultdict(set)
    for a, b in edges:
        nbrs[a].add(b)
        nbrs[b].add(a)
    tris = np.array(sorted({tuple(sorted((a, b, c))) for a, b in edges for c in nbrs[a] & nbrs[b]}))
    return _wind_alike(tris)


def _wind_alike(tris: np.ndarray) -> np.ndarray:
    """Flip triangles so that two sharing an edge run along it in opposite directions (a surface's
    faces all seen from the same side), walking out from each unvisited triangle."""
    by_edge = defaultdict(list)
    for t, (a, b, c) in enumerate(tris):
        for u, v in ((a, b), (b, c), (c, a)):
            by_edge[frozenset((u, v))].append(t)
    out = tris.copy()
    seen = np.zeros(len(tris), bool)

    def directed(t):
        a, b, c = out[t]
        return ((a, b), (b, c), (c, a))

    for seed in range(len(tris)):
        if seen[seed]:
            continue
        seen[seed] = True
        stack = [seed]
        while stack:
            t = stack.pop()
            for u, v in directed(t):
                shared = by_edge[frozenset((u, v))]
                if len(shared) != 2:          # the mesh's border (or a stray 3-cycle): nothing to follow
                    continue
                n = shared[0] if shared[1] == t else shared[1]
                if seen[n]:
                    continue
                if (u, v) in directed(n):
                    out[n] = out[n][[0, 2, 1]]
                seen[n] = True
                stack.append(n)
    return out


def signed_areas(lmk: np.ndarray, tris: np.ndarray) -> np.ndarray:
    a, b, c = lmk[tris[:, 0], :2], lmk[tris[:, 1], :2], lmk[tris[:, 2], :2]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def _facing(lmk: np.ndarray):
    """The mesh's triangles and their signed areas in this picture, positive facing the camera."""
    tris = triangles()
    area = signed_areas(lmk, tris)
    return tris, (-area if area.sum() < 0 else area)   # most of any face's picture faces the camera


class HiddenPoints(NamedTuple):
    """Mesh points a photo does not show, and where the visible surface over each one is."""
    ids: np.ndarray          # H point indices
    weights: np.ndarray      # H x N: the visible surface's point at each, from the mesh's points


# a face turned as far as a photo still shows its eyes and mouth has a fifth of its faces or fewer
# turned away (s10, a 3/4 portrait: 13 %); a mesh with more is not a face seen from the front
_MOST_FACING_AWAY = 0.3
# lips and lids keep their own motion: the mouth's and eyes' drawing reads them
_OWN_MOTION = set(topo.LIPS_INNER + topo.LIPS_OUTER + topo.RIGHT_EYE + topo.LEFT_EYE)


def hidden_points(lmk: np.ndarray) -> HiddenPoints:
    """Points of the mesh that lie only on triangles facing away in this photo (the face's far side
    when it is turned), each with the visible surface in front of it: the front-facing triangle that
    covers it (barycentric weights), or its three nearest visible points where none does."""
    tris, area = _facing(lmk)
    back = area < 0
    n = topo.NUM_MESH
    if back.mean() > _MOST_FACING_AWAY:      # no face seen from this side: a glitch, not a turn
        return HiddenPoints(np.zeros(0, int), np.zeros((0, len(lmk))))
    ids = np.array(sorted(set(tris[back].ravel()) - set(tris[~back].ravel()) - _OWN_MOTION), int)
    weights = np.zeros((len(ids), len(lmk)))
    if not len(ids):
        return HiddenPoints(ids, weights)
    shown = np.setdiff1d(np.arange(n), ids)
    front = tris[~back & ~np.isin(tris, ids).any(1)]
    a, b, c = (lmk[front[:, i], :2] for i in range(3))
    e1, e2 = b - a, c - a
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok = np.abs(det) > 1e-12
    for row, i in enumerate(ids):
        d = lmk[i, :2] - a
        u = np.where(ok, (d[:, 0] * e2[:, 1] - d[:, 1] * e2[:, 0]) / np.where(ok, det, 1.0), -1.0)
        v = np.where(ok, (e1[:, 0] * d[:, 1] - e1[:, 1] * d[:, 0]) / np.where(ok, det, 1.0), -1.0)
        inside = np.nonzero((u >= 0) & (v >= 0) & (u + v <= 1))[0]
        if len(inside):
            # where two front-facing layers overlap (the nose over the far cheek) this may be the one
            # behind; choosing by MediaPipe's depth instead measured the same (s10/d18 yaw 0.31 / 0.32)
            t = inside[0]
            weights[row, front[t]] = (1.0 - u[t] - v[t], u[t], v[t])
        else:
            dist = np.linalg.norm(lmk[shown, :2] - lmk[i, :2], axis=1)
            near = np.argsort(dist)[:3]
            w = 1.0 / (dist[near] + 1e-4)
            weights[row, shown[near]] = w / w.sum()
    return HiddenPoints(ids, weights)


def move_with_visible_surface(tgt: np.ndarray, base: np.ndarray, hidden: HiddenPoints) -> np.ndarray:
    """Hidden points take the motion of the visible surface over them in the photo. The warp reads
    the photo by the points' motion: two points at one place in the picture moving apart (the far
    side's outline turning one way, the nose in front of it another) tear the face there."""
    if not len(hidden.ids):
        return tgt
    out = tgt.copy()
    motion = tgt - base
    out[hidden.ids] = base[hidden.ids] + hidden.weights @ motion
    return out


class OutlineTriangles(NamedTuple):
    """The mesh's triangles on the face's outline in a photo, each as a point that must stay on its
    side of an edge: the outline point outside the inner edge of its triangle (on_outline), or the
    inner point inside the outline's edge. side: that point's distance from the edge in the photo."""
    point: np.ndarray
    a: np.ndarray
    b: np.ndarray
    on_outline: np.ndarray
    side: np.ndarray


def _edge_distance(lmk, point, a, b):
    """Signed distance of each point from the line a -> b, and the line's unit normal (R x 2)."""
    e = lmk[b, :2] - lmk[a, :2]
    normal = np.stack([e[:, 1], -e[:, 0]], 1) / (np.linalg.norm(e, axis=1, keepdims=True) + 1e-12)
    return ((lmk[point, :2] - lmk[a, :2]) * normal).sum(1), normal


def outline_triangles(base: np.ndarray, hidden: HiddenPoints) -> OutlineTriangles:
    """The photo's front-facing triangles with one or two points on the face's oval, hidden points
    aside (they move with the surface in front of them)."""
    tris, area = _facing(base)
    oval = np.isin(tris, topo.FACE_OVAL)
    keep = (area > 0) & np.isin(oval.sum(1), (1, 2)) & ~np.isin(tris, hidden.ids).any(1)
    tris, oval = tris[keep], oval[keep]
    on_outline = oval.sum(1) == 1
    # the odd one out (the outline point, or the inner point), then the edge in winding order
    j = np.where(on_outline, np.argmax(oval, 1), np.argmin(oval, 1))
    rows = np.arange(len(tris))
    point, a, b = tris[rows, j], tris[rows, (j + 1) % 3], tris[rows, (j + 2) % 3]
    side, _ = _edge_distance(base, point, a, b)
    return OutlineTriangles(point, a, b, on_outline, side)


# an outline point may come this close to the face inside it (a share of its distance in the photo),
# no closer: what a turn foreshortens stays foreshortened, what it would fold stays unfolded
_OUTLINE_KEEPS = 0.25


def unfold_outline(tgt: np.ndarray, outline: OutlineTriangles, rounds: int = 6) -> np.ndarray:
    """The target's face outline pushed back outside the face it encloses wherever the motion folded
    it inside. A turn moves points sideways by their depth, and the outline lies deepest: on the side
    turning away it moves past the cheek in front of it. The picture then shows the cheek's skin beyond
    the outline and the hair's edge drawn back inside it, a ragged edge at the points' spacing (the
    sample face's far cheek in the demo). The cheek hides the outline instead: the outline sits on it."""
    if not len(outline.point):
        return tgt
    out = tgt.copy()
    want = _OUTLINE_KEEPS * outline.side
    for _ in range(rounds):
        now, normal = _edge_distance(out, outline.point, outline.a, outline.b)
        short = (want - now) * np.sign(outline.side)          # > 0: too close or across
        bad = short > 0
        if not bad.any():
            break
        step = short[:, None] * np.sign(outline.side)[:, None] * normal   # towards the photo's side
        push, count = np.zeros((len(out), 2)), np.zeros(len(out))
        out_pt = bad & outline.on_outline                      # the outline point goes back out
        np.add.at(push, outline.point[out_pt], step[out_pt])
        np.add.at(count, outline.point[out_pt], 1)
        edge = bad & ~outline.on_outline                       # the outline's edge moves off the point
        for ends in (outline.a, outline.b):
            np.add.at(push, ends[edge], -step[edge])
            np.add.at(count, ends[edge], 1)
        moved = count > 0
        out[moved, :2] += push[moved] / count[moved, None]
    return out
