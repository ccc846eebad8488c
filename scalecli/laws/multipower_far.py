"""The multi-power k-sum by a far-field expansion, with a proven error bound.

The exact k-sum costs one log and one exp per (logged point, earlier change point) pair:
5.6 million pairs for nine 24,000-step cosine curves. Written with ``sigma_k = cs[k-1] - 1/c_k``
and ``q_k = gap_k·c_k^-beta`` (``c_k = C·eta_k^-gamma``), each term is a one-parameter kernel,

    gap_k·(1 + c_k·S_k(t))^-beta = q_k·(x - sigma_k)^-beta,      x = cs[t],

so the terms of a block of consecutive change points (centre ``c``, radius ``r`` in sigma) sum,
for every x with ``r <= rho·(x - c)``, to the binomial series

    (x - c)^-beta · sum_n a_n·m_n·(r/(x - c))^n,    a_n = (beta)_n / n!,
    m_n = sum_k q_k·((sigma_k - c)/r)^n             (|(sigma_k - c)/r| <= 1),

whose moments ``m_n`` are computed once per block and serve every later point. The series is
cut after p terms, p the least for which the tail ``(1+rho)^beta·sum_{n>=p} a_n·rho^n`` is below
``TOL`` (bounded with the ratio a_{n+1}/a_n = (beta+n)/(n+1)). Since
``|q_k|·(x-c)^-beta <= (1+rho)^beta·|gap_k|``, the error of a point's sum is at most
``TOL·sum_k |gap_k|``, so the prediction's is at most ``TOL·B·sum_k |gap_k|`` (B·total variation
of the LR bounds the decay term itself): 1e-13 of the loss for the paper's parameters. The
change points of a point's leading far blocks go through the series; the rest (its own block
and the few before it) are summed exactly.

The Jacobian's sums expand the same way: ``gap·P·ln z`` through ``ln c_k + ln(x - sigma_k)``,
whose ``(x - sigma)^-beta·ln(x - sigma)`` is minus the beta-derivative of the series
(coefficients ``a_n·sum_{j<n} 1/(beta+j)``); ``gap·P/z`` is the kernel of exponent beta + 1
with weights ``q_k/c_k``; the ln(eta_k)-weighted sums take those weights times ln eta_k. Five
sets of moments (``q``, ``q·ln c``, ``q/c``, ``q·ln eta``, ``q/c·ln eta``) serve them all.
"""

from __future__ import annotations

BLOCK = 128  # change points per block
RHO = 1 / 3  # a block is far from x when its radius is at most RHO·(x - centre)
TOL = 1e-12  # error bound relative to sum |gap|
MOST_TERMS = 48  # beyond this (a large beta) the exact sum is used
MOST_TERMS_JAC = 64
_TAIL_TERMS = 400  # the coefficients' tails are summed this far (rho^400 is nothing)
_ROWS = 64  # points per near-field chunk


def series_terms(beta: float, rho: float = RHO, tol: float = TOL):
    """The coefficients a_0..a_{p-1} of the truncated series, or None when more than
    ``MOST_TERMS`` would be needed."""
    import numpy as np

    a = [1.0]
    scale = (1 + rho) ** beta
    for n in range(MOST_TERMS):
        a_n = a[-1]  # a_n for n = len(a) - 1 == n
        ratio = max(1.0, (beta + n) / (n + 1)) * rho  # bounds every later a_{j+1}·rho/a_j
        if ratio < 1 and scale * a_n * rho ** n / (1 - ratio) <= tol:
            return np.array(a[:-1]) if n else np.array([1.0])
        a.append(a_n * (beta + n) / (n + 1))
    return None


def blocks(k):
    """Blocks of at most BLOCK consecutive change points, also cut wherever the LR stays
    constant for more than BLOCK steps (a block across a stable phase would never be far from
    the points after it): their starts and ends, and a (blocks, BLOCK) layout of change-point
    indices with the short blocks filled by their first member (``filler`` marks those)."""
    import numpy as np

    m = len(k)
    starts = np.union1d(np.arange(0, m, BLOCK), np.flatnonzero(np.diff(k) > BLOCK) + 1)
    ends = np.append(starts[1:], m)
    layout = starts[:, None] + np.arange(BLOCK)
    filler = layout >= ends[:, None]
    layout[filler] = np.repeat(starts, filler.sum(1))
    return starts, ends, layout, filler


def worthwhile(n_points: int, n_changes: int) -> bool:
    """The series pays once a curve has several blocks and enough points to share them."""
    return n_changes >= 2 * BLOCK and n_points * n_changes >= 50_000


def jacobian_terms(beta: float, rho: float = RHO, tol: float = TOL):
    """The three coefficient series the Jacobian's sums need, to one length p: a_n(beta),
    its derivative in beta a_n(beta)·sum_{j<n} 1/(beta+j), and a_n(beta+1); p the least for
    which their summed tail, scaled by (1+rho)^(beta+1) and by 1 + 46 (|ln(x - c)| for any x - c
    in 1e-20..1e20), is below ``tol``; None beyond ``MOST_TERMS_JAC`` terms. A Jacobian only
    steers the search, so this bound is looser than the value's; tests hold the result to the
    exact sum's Jacobian."""
    import numpy as np

    n = np.arange(_TAIL_TERMS)
    ratio = (beta + n[:-1]) / (n[:-1] + 1)
    a = np.concatenate([[1.0], np.cumprod(ratio)])
    harmonic = np.concatenate([[0.0], np.cumsum(1.0 / (beta + n[:-1]))])
    a_prime = a * harmonic
    a_next = np.concatenate([[1.0], np.cumprod((beta + 1 + n[:-1]) / (n[:-1] + 1))])
    weight = (a + a_prime + a_next) * rho ** n
    tail = np.cumsum(weight[::-1])[::-1]  # tail[p] = sum_{n >= p}
    ok = np.flatnonzero((1 + rho) ** (beta + 1) * 47.0 * tail <= tol)
    if not ok.size or ok[0] > MOST_TERMS_JAC:
        return None
    p = max(1, int(ok[0]))
    return a[:p], a_prime[:p], a_next[:p]


def decay_sums(c, log_ck, beta: float, coef, jac: bool = False):
    """At every logged point of curve ``c`` (``log_ck`` = ln c_k at its change points), as
    rows of a (1 or 4, points) array: ``sum_{k<=t} gap_k·(1 - P_k)``,
    ``P_k = (1 + c_k·S_k(t))^-beta = z_k^-beta``, to within ``TOL·sum|gap|``; with ``jac``
    (``coef`` from :func:`jacobian_terms`) also ``sum gap·P·ln z``, ``sum gap·(P - P/z)`` and
    ``sum gap·(P - P/z)·ln eta_k``, the Jacobian's sums, as the exact path's rows."""
    import numpy as np

    starts, ends, layout, filler = c.blocks
    inv_c = np.exp(-log_ck)
    q = c.gap * np.exp(-beta * log_ck)  # gap·c^-beta
    if jac:
        a, a_prime, a_next = coef
        qc = q * inv_c  # gap·c^-(beta+1): the P/z terms, of exponent beta + 1
        weights = np.stack([q, q * log_ck, qc, q * c.log_eta_k, qc * c.log_eta_k])
        folds = [(0, a), (0, a_prime), (1, a), (2, a_next), (3, a), (4, a_next)]
    else:
        weights, folds = q[None, :], [(0, coef)]
    sig = (c.cs_before - inv_c)[layout]  # (blocks, BLOCK), padded with a member
    w = np.ascontiguousarray(weights[:, layout].transpose(1, 0, 2))  # (blocks, sets, BLOCK)
    w *= ~filler[:, None, :]  # the padding weighs nothing
    lo, hi = sig.min(1), sig.max(1)
    cen, rad = (lo + hi) / 2, (hi - lo) / 2
    sig -= cen[:, None]
    sig /= np.where(rad > 0, rad, 1.0)[:, None]  # now (sigma - c)/r, in [-1, 1]
    p, nb = len(folds[0][1]), len(starts)
    powers = np.empty((nb, p, BLOCK))  # ((sigma - c)/r)^n, then every set's moments at once
    powers[:, 0] = 1.0
    for n in range(1, p):
        np.multiply(powers[:, n - 1], sig, out=powers[:, n])
    raw = np.matmul(w, powers.transpose(0, 2, 1)).transpose(1, 2, 0)  # (sets, p, blocks)
    mom = np.stack([raw[k] * series[:, None] for k, series in folds])  # (sets, p, blocks)

    x = c.cs[c.t]
    causal = c.causal  # change points <= t, per point
    bounds = np.append(starts, len(c.k))
    ck = np.exp(log_ck)
    out = np.empty((4 if jac else 1, len(x)))
    for r0 in range(0, len(x), _ROWS):  # rows of close t: each chunk cut to its own extent
        rows = slice(r0, r0 + _ROWS)
        top = int(np.searchsorted(ends, causal[rows].max(initial=0), side="right"))
        d = x[rows, None] - cen[:top]  # only blocks before every change point > t can be far
        far = (d * RHO >= rad[:top]) & (d > 0) & (ends[:top] <= causal[rows, None])
        lead = np.where(far.all(1), top, np.argmin(far, 1))  # each row's leading far blocks
        first = bounds[lead]  # the first change point summed exactly
        sums = _far_part(d, lead, rad, mom, beta, jac)
        sums += _near_part(c, ck, beta, x[rows], first, causal[rows], jac)
        sums[0] = c.gap_cum[causal[rows]] - sums[0]  # sum gap·(1 - P) = sum gap - sum gap·P
        out[:, rows] = sums
    return out


def _far_part(d, lead, rad, mom, beta: float, jac: bool):
    """Over each row's leading ``lead`` blocks, by their series (Horner in r/(x - c), every
    moment set at once): sum gap·P, and with ``jac`` sum gap·P·ln z, sum gap·(P - P/z) and
    sum gap·(P - P/z)·ln eta."""
    import numpy as np

    top = int(lead.max(initial=0))
    out = np.zeros((4 if jac else 1, len(lead)))
    if not top:
        return out
    use = np.arange(top) < lead[:, None]
    dd = np.where(use, d[:, :top], 1.0)
    ratio = np.where(use, rad[:top] / dd, 0.0)
    acc = np.broadcast_to(mom[:, -1, None, :top], (len(mom), *dd.shape)).copy()
    for n in range(mom.shape[1] - 2, -1, -1):
        acc *= ratio
        acc += mom[:, n, None, :top]
    log_d = np.log(dd)
    scale = np.exp(-beta * log_d) * use  # (x - c)^-beta, 0 off the far blocks
    out[0] = np.einsum("ij,ij->i", acc[0], scale)
    if jac:
        h0, h_prime, h_logc, h_z, h_eta, h_zeta = acc
        # ln z = ln c + ln(x - sigma); (x - sigma)^-beta ln(x - sigma) = -d/dbeta of its series
        out[1] = np.einsum("ij,ij->i", h_logc + log_d * h0 - h_prime, scale)
        scale /= dd  # (x - c)^-(beta + 1): the P/z terms
        out[2] = out[0] - np.einsum("ij,ij->i", h_z, scale)
        out[3] = (np.einsum("ij,ij->i", h_eta, scale * dd)
                  - np.einsum("ij,ij->i", h_zeta, scale))
    return out


def _near_part(c, ck, beta: float, x, start, stop, jac: bool = False):
    """Over change points start_i..stop_i - 1 of each row, exactly (one log and one exp per
    pair), gathered to the rows' longest range (gap = 0 beyond a row's): sum gap·P, and with
    ``jac`` sum gap·P·ln z, sum gap·(P - P/z) and sum gap·(P - P/z)·ln eta."""
    import numpy as np

    out = np.zeros((4 if jac else 1, len(x)))
    width = int((stop - start).max(initial=0))
    if width <= 0:
        return out
    idx = start[:, None] + np.arange(width)
    outside = idx >= stop[:, None]
    np.minimum(idx, len(ck) - 1, out=idx)
    z = x[:, None] - c.cs_before[idx]
    z *= ck[idx]
    z += 1.0
    np.maximum(z, 1.0, out=z)  # beyond a row's range (k > t) S_k(t) < 0: keep the log finite
    g = c.gap[idx]
    g[outside] = 0.0
    if not jac:
        np.log(z, out=z)
        z *= -beta
        np.exp(z, out=z)
        out[0] = np.einsum("ij,ij->i", z, g)
        return out
    log_z = np.log(z)
    P = np.exp(-beta * log_z)
    out[0] = np.einsum("ij,ij->i", P, g)
    out[1] = np.einsum("ij,ij->i", P * log_z, g)
    dz = P - P / z
    out[2] = np.einsum("ij,ij->i", dz, g)
    out[3] = np.einsum("ij,ij->i", dz, g * c.log_eta_k[idx])
    return out
