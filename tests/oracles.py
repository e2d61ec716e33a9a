"""Independent oracles for crossbar tests: textbook dense MNA written with plain loops.

They share no code with :mod:`cimspice.sim.crossbar` nor with
:class:`cimspice.circuits.crossbar.Crossbar` (which they check): the topology is written
out again here from the issue's description.
"""

from __future__ import annotations

import numpy as np


def mna_column_currents(G, V, r_row, r_col, r_sense=0.0, cell_current=None):
    """Column currents (A) of the crossbar by textbook MNA with dense matrices.

    Elements: one source per row (node in_i), wire resistors (0 ohm -> 0 V source), cells
    (resistors 1/G, or a nonlinear current cell_current(v_top, v_bottom, G) scalar function),
    and per column a 0 V source from the sense node (through r_sense if > 0) to ground whose
    branch current is the column current.
    """
    R, C = G.shape
    names = {}

    def node(name):
        return names.setdefault(name, len(names))

    res, vsrc = [], []  # (a, b, ohm); (a, b, volts) with -1 = ground
    for i in range(R):
        vsrc.append((node(f"in{i}"), -1, V[i]))
        res.append((node(f"in{i}"), node(f"r{i}_0"), r_row))
        for j in range(C - 1):
            res.append((node(f"r{i}_{j}"), node(f"r{i}_{j + 1}"), r_row))
    for j in range(C):
        for i in range(R - 1):
            res.append((node(f"c{i}_{j}"), node(f"c{i + 1}_{j}"), r_col))
        res.append((node(f"c{R - 1}_{j}"), node(f"s{j}"), r_col))
        if r_sense > 0:
            res.append((node(f"s{j}"), node(f"m{j}"), r_sense))
            sense_src = (node(f"m{j}"), -1, 0.0)
        else:
            sense_src = (node(f"s{j}"), -1, 0.0)
        vsrc.append(sense_src)
    cells = [(node(f"r{i}_{j}"), node(f"c{i}_{j}"), G[i, j]) for i in range(R) for j in range(C)]
    if cell_current is None:
        res += [(a, b, 1.0 / g) for a, b, g in cells]
    for a, b, r in list(res):
        if r == 0.0:
            res.remove((a, b, r))
            vsrc.append((a, b, 0.0))
    nn, ns = len(names), len(vsrc)
    A = np.zeros((nn + ns, nn + ns))
    z = np.zeros(nn + ns)
    for a, b, r in res:
        g = 1.0 / r
        for p, q in ((a, b), (b, a)):
            if p >= 0:
                A[p, p] += g
                if q >= 0:
                    A[p, q] -= g
    for k, (a, b, v) in enumerate(vsrc):
        row = nn + k
        if a >= 0:
            A[a, row] += 1.0
            A[row, a] += 1.0
        if b >= 0:
            A[b, row] -= 1.0
            A[row, b] -= 1.0
        z[row] = v
    sense_rows = [nn + R + j for j in range(C)]  # sources: R row drivers, then C sense
    if cell_current is None:
        x = np.linalg.solve(A, z)
    else:
        ia = np.array([a for a, _, _ in cells])
        ib = np.array([b for _, b, _ in cells])
        g = np.array([g for _, _, g in cells])

        def F(x):
            out = A @ x - z
            i = cell_current(x[ia], x[ib], g)
            np.add.at(out, ia, i)
            np.add.at(out, ib, -i)
            return out

        # Newton with a finite-difference Jacobian of the law (independent of the solver)
        x = np.linalg.solve(A + _cell_stamp(ia, ib, g, len(z)), z)  # linear start
        for _ in range(100):
            f = F(x)
            h = 1e-7
            va, vb = x[ia], x[ib]
            da = (cell_current(va + h, vb, g) - cell_current(va - h, vb, g)) / (2 * h)
            db = (cell_current(va, vb + h, g) - cell_current(va, vb - h, g)) / (2 * h)
            J = A.copy()
            np.add.at(J, (ia, ia), da)
            np.add.at(J, (ia, ib), db)
            np.add.at(J, (ib, ia), -da)
            np.add.at(J, (ib, ib), -db)
            dx = np.linalg.solve(J, -f)
            t = 1.0
            while np.linalg.norm(F(x + t * dx)) > np.linalg.norm(f) and t > 1e-6:
                t /= 2
            x = x + t * dx
            if np.abs(dx).max() <= 1e-13 * np.abs(x).max():
                break
        else:
            raise AssertionError("oracle Newton did not converge")
    # MNA branch current flows from the + node through the source: into the sense source.
    return x[sense_rows]


def _cell_stamp(ia, ib, g, n):
    M = np.zeros((n, n))
    for a, b, gg in zip(ia, ib, g):
        M[a, a] += gg
        M[b, b] += gg
        M[a, b] -= gg
        M[b, a] -= gg
    return M


def rc_crossbar_read(G, V, r_wire, c_wire, rise, t):
    """Exact time response of a linear (R-cell) crossbar with wire capacitance to a ramp.

    Every row and column node has ``c_wire`` to ground; the sense nodes are a virtual ground;
    row sources ramp from 0 at t = 0 to ``V[i]`` at ``rise`` and hold. With equal node
    capacitances the nodal equations ``c dv/dt = -A v + b(t)`` decouple in the eigenvectors of
    the symmetric conductance matrix ``A``, and each mode's response to a ramp-and-hold has a
    closed form. Returns ``(column_currents (n_t, cols), source_currents (n_t, rows))`` at the
    times ``t`` (A; sources positive when delivering).
    """
    R, C = G.shape
    n = 2 * R * C
    row = lambda i, j: i * C + j  # noqa: E731
    col = lambda i, j: R * C + i * C + j  # noqa: E731
    g = 1.0 / r_wire
    A = np.zeros((n, n))
    b = np.zeros(n)

    def link(p, q, gg):
        A[p, p] += gg
        A[q, q] += gg
        A[p, q] -= gg
        A[q, p] -= gg

    for i in range(R):
        A[row(i, 0), row(i, 0)] += g  # segment from the source
        b[row(i, 0)] += g * V[i]
        for j in range(C - 1):
            link(row(i, j), row(i, j + 1), g)
    for j in range(C):
        for i in range(R - 1):
            link(col(i, j), col(i + 1, j), g)
        A[col(R - 1, j), col(R - 1, j)] += g  # segment into the virtual ground
    for i in range(R):
        for j in range(C):
            link(row(i, j), col(i, j), G[i, j])
    lam, Q = np.linalg.eigh(A)
    a = lam / c_wire  # modal rates (1/s)
    f = (Q.T @ b) / c_wire
    t = np.asarray(t, float)[:, None]
    ramp_part = f / rise * (np.minimum(t, rise) / a - (1 - np.exp(-a * np.minimum(t, rise))) / a**2)
    y_rise = f / rise * (rise / a - (1 - np.exp(-a * rise)) / a**2)
    y_inf = f / a
    hold_part = y_inf + (y_rise - y_inf) * np.exp(-a * np.clip(t - rise, 0, None))
    y = np.where(t <= rise, ramp_part, hold_part)
    v = y @ Q.T
    columns = g * v[:, [col(R - 1, j) for j in range(C)]]
    drive = np.minimum(t / rise, 1.0) * V[None, :]
    sources = g * (drive - v[:, [row(i, 0) for i in range(R)]])
    return columns, sources
