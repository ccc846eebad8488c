"""BLAS on one thread while a fit runs.

SciPy's L-BFGS-B (1.17, linked to SciPy's OpenBLAS) calls BLAS on its few-by-few matrices at
every step, and with OpenBLAS's worker threads each step can wait for a thread to be scheduled:
on a busy two-core machine, measured at about 10 ms a step instead of 0.1 ms, most of a fit's
time (a fit takes a thousand steps). NumPy's products of a fit's (points × parameters) Jacobian
gain nothing from threads either. So a fit runs with BLAS limited to the calling thread
(threadpoolctl), and the limit is lifted after.
"""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def one_blas_thread():
    """Within: every loaded BLAS (SciPy's and NumPy's OpenBLAS) uses one thread."""
    import scipy.optimize  # noqa: F401  (loads SciPy's OpenBLAS, so the limit reaches it)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
