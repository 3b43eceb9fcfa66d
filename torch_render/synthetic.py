"""Seeded generators of synthetic one-minute closes and OHLCV bars, for demos, tests
and benchmarks.

The series look like real minute closes of a liquid market rather than a plain
Gaussian random walk: log returns have a slowly varying volatility (a per-series
level plus an AR(1) log-volatility, so calm and busy stretches alternate) and rare
jumps, which gives the heavy tails and volatility clustering of real data.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["synthetic_closes", "synthetic_ohlcv"]

# Real BTC/USDT one-minute closes (2023) have a log-return standard deviation of
# about 7e-4 per minute; the default volatility is of that order.
DEFAULT_VOLATILITY = 7e-4

_SERIES_LOG_VOL_STD = 0.5  # spread of the volatility level between series
_AR_PHI = 0.95  # per-step persistence of the log-volatility
_AR_LOG_VOL_STD = 0.6  # stationary standard deviation of the AR(1) log-volatility
_AR_TAPS = 256  # truncation of the AR(1) filter (0.95**256 ~ 2e-6)
_JUMP_PROB = 0.005  # probability of a jump at each step
_JUMP_SCALE = 6.0  # jump standard deviation, in units of the local volatility
_DRIFT_STD = 0.05  # spread of the per-series drift, in units of the volatility


def synthetic_closes(
    count: int,
    length: int = 100,
    *,
    seed: int = 0,
    start_price: float = 30000.0,
    volatility: float = DEFAULT_VOLATILITY,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Random price series that look like one-minute closes: a geometric random walk
    with volatility clustering and occasional jumps.

    Series ``b`` is ``start_price * exp(cumsum(r_b))`` where the log returns
    ``r_b[t] = mu_b + sigma_b[t] * eps[t] + jump[t]`` have a per-series drift
    ``mu_b``, a volatility ``sigma_b[t]`` that is lognormal around a per-series level
    and persistent in time (AR(1) with coefficient 0.95), and a jump with
    probability 0.005 per step. The overall standard deviation of the log returns
    is about ``volatility``.

    The random numbers come from a private ``torch.Generator`` seeded with ``seed``:
    the result depends only on the arguments (not on the global RNG, which is left
    untouched): the same arguments give the same tensor on every call and machine.
    Changing ``count`` or ``length`` changes every series, not only the new ones.

    Args:
        count: number of series B (>= 0).
        length: number of closes per series L (>= 1). Default 100.
        seed: seed of the generator. Default 0.
        start_price: first close of every series (finite, > 0). Default 30000.0.
        volatility: typical standard deviation of the per-step log returns
            (finite, >= 0; 0 gives flat series). Default 7e-4, about that of
            BTC/USDT one-minute closes.
        dtype: floating dtype of the result. Default float64 (the series are
            generated in float64 and converted).

    Returns:
        ``[count, length]`` tensor of ``dtype`` on the CPU; all values finite and
        positive, column 0 equal to ``start_price``.

    Example:
        >>> import torch_render
        >>> from torch_render.synthetic import synthetic_closes
        >>> closes = synthetic_closes(64, 100, seed=1)       # [64, 100] float64
        >>> images = torch_render.render_line(closes, 500, 800)
    """
    count, length = int(count), int(length)
    start_price, volatility = float(start_price), float(volatility)
    if count < 0:
        raise ValueError(f"synthetic_closes: count must be >= 0, got {count}")
    if length < 1:
        raise ValueError(f"synthetic_closes: length must be >= 1, got {length}")
    if not (math.isfinite(start_price) and start_price > 0):
        raise ValueError(f"synthetic_closes: start_price must be finite and > 0, got {start_price}")
    if not (math.isfinite(volatility) and volatility >= 0):
        raise ValueError(f"synthetic_closes: volatility must be finite and >= 0, got {volatility}")
    if not dtype.is_floating_point:
        raise TypeError(f"synthetic_closes: dtype must be a floating dtype, got {dtype}")

    if count == 0 or length == 1:
        return torch.full((count, length), start_price, dtype=torch.float64).to(dtype)

    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed))
    f64 = dict(dtype=torch.float64, generator=gen)
    steps = length - 1  # returns between consecutive closes

    # Log-volatility: a per-series level plus a stationary AR(1) process, computed as
    # a causal filter over white noise with a burn-in of _AR_TAPS - 1 steps.
    level = _SERIES_LOG_VOL_STD * torch.randn(count, 1, **f64)
    noise = torch.randn(count, 1, steps + _AR_TAPS - 1, **f64)
    taps = _AR_PHI ** torch.arange(_AR_TAPS - 1, -1, -1, dtype=torch.float64)
    taps *= _AR_LOG_VOL_STD * math.sqrt(1.0 - _AR_PHI**2)
    ar = F.conv1d(noise, taps.view(1, 1, -1)).view(count, steps)
    # exp(X - var(X)) has mean square 1 for a Gaussian X, so the returns keep the
    # requested scale; the jumps' share of the variance is taken out as well.
    log_var = _SERIES_LOG_VOL_STD**2 + _AR_LOG_VOL_STD**2
    jump_var = _JUMP_PROB * _JUMP_SCALE**2
    sigma = (volatility / math.sqrt(1.0 + jump_var)) * torch.exp(level + ar - log_var)

    eps = torch.randn(count, steps, **f64)
    jumps = torch.rand(count, steps, **f64) < _JUMP_PROB
    jump_size = _JUMP_SCALE * torch.randn(count, steps, **f64)
    drift = _DRIFT_STD * volatility * torch.randn(count, 1, **f64)
    returns = drift + sigma * (eps + jumps * jump_size)

    log_path = torch.cat([torch.zeros(count, 1, dtype=torch.float64), returns.cumsum(-1)], dim=-1)
    return (start_price * torch.exp(log_path)).to(dtype)


def synthetic_ohlcv(
    count: int,
    length: int = 20,
    *,
    seed: int = 0,
    ticks: int = 4,
    start_price: float = 30000.0,
    volatility: float = DEFAULT_VOLATILITY,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random OHLC bars with volumes: each bar summarises ``ticks`` steps of a
    :func:`synthetic_closes` path.

    Series b is the path ``p = synthetic_closes(count, length * ticks + 1, seed=seed,
    ...)[b]``; bar i opens at ``p[i * ticks]``, closes at ``p[(i + 1) * ticks]`` (the
    next bar's open) and has the max and min of ``p[i * ticks : (i + 1) * ticks + 1]``
    as high and low, so every bar is a possible candle. Its volume is lognormal and
    grows with the bar's absolute log return (busy bars trade more), from a second
    generator seeded with ``seed``.

    Args:
        count: number of series B (>= 0).
        length: bars per series L (>= 1). Default 20.
        seed: seed of both generators. Default 0.
        ticks: path steps per bar (>= 1). Default 4.
        start_price, volatility: as in :func:`synthetic_closes` (volatility per
            path step).

    Returns:
        ``(ohlc, volume)``: ``[count, length, 4]`` (open, high, low, close) and
        ``[count, length]`` float64 tensors on the CPU, finite and positive.

    Example:
        >>> ohlc, volume = synthetic_ohlcv(64, 20, seed=1)
        >>> images = torch_render.render_ohlc(ohlc, 64, volume=volume, volume_rows=12)
    """
    count, length, ticks = int(count), int(length), int(ticks)
    if length < 1:
        raise ValueError(f"synthetic_ohlcv: length must be >= 1, got {length}")
    if ticks < 1:
        raise ValueError(f"synthetic_ohlcv: ticks must be >= 1, got {ticks}")
    path = synthetic_closes(
        count, length * ticks + 1, seed=seed, start_price=start_price, volatility=volatility
    )
    steps = path.unfold(-1, ticks + 1, ticks)  # [count, length, ticks + 1], shared ends
    ohlc = torch.stack((steps[..., 0], steps.amax(-1), steps.amin(-1), steps[..., -1]), dim=-1)
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed))
    size = torch.exp(0.5 * torch.randn(count, length, dtype=torch.float64, generator=gen))
    move = (ohlc[..., 3] / ohlc[..., 0]).log().abs() / max(volatility * math.sqrt(ticks), 1e-12)
    return ohlc, 10.0 * size * (1.0 + move)
