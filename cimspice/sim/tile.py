"""One weight matrix on crossbar arrays: the analog :class:`MatVec`.

``y = x @ W`` becomes, for every array of the matrix's tiling plan:

1. weights -> digit planes -> conductances (:mod:`.mapping`), with programming error;
2. inputs -> read voltages: bit-serial pulses (one per input bit, ``v_read`` or 0) or DAC
   levels, in two phases (positive and negative parts) for signed inputs, or bipolar;
3. column currents: the cell's separable read law ``sum_r f_r(V) @ A_r`` (ideal ``G V``,
   sinh, or a SPICE surrogate), with IR drop folded in through the linear crossbar's
   transfer matrix (``solver: surrogate``), or the exact nonlinear crossbar solve
   (``solver: exact``); read noise as a Gaussian on each column with the variance of its
   cells' currents;
4. sense (pair / reference difference) and ADC codes, one ADC range per array;
5. digital shift-and-add over slices and input bits, then partial sums of the row tiles
   (``partial_sums``, at ``adc.partial_sum_bits``) or low-resolution per-array outputs
   summed digitally (``input_splitting``, Kim et al. ISLPED 2018, at ``adc.bits``).

Every step is counted in the backend's ledger (array energy from ``V * I * t_read``,
pulses, conversions, shift-adds, buffer bits, cycles). After the products of step 3 (BLAS),
the noise, sense, ADC and shift-add of every conversion run in one compiled loop
(:mod:`.kernels`) where it applies, else as NumPy passes (the reference path).
"""

from __future__ import annotations

import zlib

import numpy as np

from .costs import ACTIVATION_BITS
from .crossbar import SurrogateCell, cell_factors
from .crossbar.transfer import one_blas_thread
from .encoding import encode
from .errors import SimError
from .ir_drop import attenuations
from .mapping import array_layout, plan_matrix, quantise_weights
from .noise import TABLE
from .readout import sense_energy, threshold_readout
from .row_tile import RowTile, Separable, Tally, in_order, tile_pool
from .vector_split import block_indices, chunk_groups, read_by_vectors

__all__ = ["DIAGNOSIS_VECTORS", "AnalogMatrix"]

_CHUNK = 1 << 16        # conversions (pulses x vectors x columns) read at once: in cache, bounds memory
_DRAW_BLOCK = 1 << 21   # conversions whose read noise is drawn at once (sets the draws' order)
#: input vectors of one analog call the per-layer diagnosis compares with the float product
#: (:mod:`.diagnosis`); a call with more is read at an even stride
DIAGNOSIS_VECTORS = 4096


class AnalogMatrix:
    """``W`` (n_in, n_out) programmed on the arrays of ``backend.spec``.

    Built by :class:`cimspice.sim.backend.AnalogBackend`; call :meth:`calibrate` with
    representative inputs before use (sets the input range and the ADC ranges).
    """

    def __init__(self, name: str, W: np.ndarray, backend):
        spec = backend.spec
        self.name, self.backend, self.spec = name, backend, spec
        self.n_in, self.n_out = W.shape
        self.W = np.asarray(W, dtype=float)   # the float network's weights: the diagnosis's reference
        self.plan = plan_matrix(name, self.n_in, self.n_out, spec)
        a, m = spec.array, spec.mapping
        self.planes = quantise_weights(W, m.weights, a.cell_bits, m.slices)
        self.k = self.planes.slices
        self.step = (a.g_on - a.g_off) / self.planes.levels          # S per digit
        self.x_max, self.signed = None, False
        self._calibration: list[np.ndarray] = []
        self._W_q = None
        # Voltages a row can take, indexed by the input codes (None: continuous DAC voltages)
        self.level_v = self._levels() if spec.inputs.bits is not None else None
        rng = np.random.default_rng([spec.seed, zlib.crc32(name.encode())])
        self.tiles = [self._program(rows, rng) for rows in self.plan.row_tiles]
        if backend.blocks.dac is not None:   # the DACs' load: these programmed rows (sim/dac_block.py)
            backend.blocks.dac.program(name, self.tiles)
        split = spec.tiling.split
        bits = spec.adc.partial_sum_bits if (len(self.tiles) > 1 and split == "partial_sums") else spec.adc.bits
        for t in self.tiles:
            t.adc_bits = bits
        self.adc = backend.adc(bits)
        # the sense's energy per read summed over float32 currents (None: sense.energy directly)
        self._sense_energy = sense_energy(backend.sense)

    # ------------------------------------------------------------------ programming
    def _levels(self) -> np.ndarray:
        """Voltages (V) a row can be driven at."""
        inp, v = self.spec.inputs, self.spec.array.v_read
        if inp.encoding == "bit_serial":
            lv = np.array([0.0, v])
        elif inp.bits is None:
            lv = np.linspace(0.0, v, 257)
        else:
            lv = np.linspace(0.0, v, 2 ** inp.bits)
        # bipolar: -v .. 0 .. v, so the code of a signed level q is len(lv) - 1 + q
        return np.concatenate([-lv[:0:-1], lv]) if inp.signed == "bipolar" else lv

    def _program(self, rows, rng) -> RowTile:
        spec, cell = self.spec, self.backend.cell
        a, n = spec.array, spec.nonidealities
        tile = RowTile(rows)
        Gs, plus_all, minus_all, offset = [], [], [], 0
        for outs in self.plan.out_groups:
            G, plus_idx, minus_idx = array_layout(self.planes, rows, outs, a.g_on, a.g_off)
            if n.programming_sigma > 0:
                noise = rng.standard_normal(G.shape)
                if n.programming_error == "relative":
                    G = G * np.exp(n.programming_sigma * noise)
                else:
                    G = np.maximum(G + n.programming_sigma * (a.g_on - a.g_off) * noise, 1e-3 * a.g_off)
                if isinstance(cell, SurrogateCell):
                    # a write cannot take a device past its conductance window, the range its
                    # surrogate was characterized over (write-verify saturates there)
                    G = np.clip(G, *cell.surrogate.domain[cell.g_input])
            tile.arrays.append((outs, G, plus_idx, minus_idx))
            tile.conv_per_array = max(tile.conv_per_array, plus_idx.size)
            Gs.append(G)
            plus_all.append((plus_idx + offset).ravel())
            minus_all.append((minus_idx + offset).ravel())
            offset += G.shape[1]
        # All arrays of the row tile side by side: one factorisation, one product per factor.
        G = np.hstack(Gs)
        plus, minus = np.concatenate(plus_all), np.concatenate(minus_all)
        levels = self._levels()
        factors = cell_factors(cell, G, levels)
        attenuation = None
        parts = attenuations(self.backend, Gs)    # IR drop (sim/ir_drop.py), through the program cache
        if parts is not None:
            attenuation = np.hstack(parts)
            tile.attenuation = float(np.mean(attenuation))
            factors = [(A * attenuation, f) for A, f in factors]
        # Bit-serial products in float32 when the ADC is at most 16 bits: the rounding
        # (~1e-7 of full scale) is far below one LSB and below every modelled non-ideality.
        fast = np.float32 if (spec.adc.bits is not None and spec.adc.partial_sum_bits is not None
                              and max(spec.adc.bits, spec.adc.partial_sum_bits) <= 16) else np.float64
        tile.diff = Separable([(A[:, plus] - A[:, minus], f) for A, f in factors], self.level_v, fast)
        tile.set_rowsum([(A.sum(axis=1), f) for A, f in factors], self.level_v)
        if n.read_noise_sigma > 0:
            sq = cell_factors(cell, G, levels, power=2)
            if attenuation is not None:
                sq = [(A * attenuation ** 2, f) for A, f in sq]
            # noise std needs no more than float32; sigma^2 folded into the matrices, so a
            # read's noise std is sqrt(product) with no further pass over the conversions
            s2 = n.read_noise_sigma ** 2
            tile.sq = Separable([(s2 * (A[:, plus] + A[:, minus]), f) for A, f in sq], self.level_v, np.float32)
            tile.sq_nonnegative = tile.sq.nonnegative
        return tile

    # ----------------------------------------------------------------- calibration
    def record(self, x: np.ndarray) -> np.ndarray:
        """Calibration pass: keep (a sample of) the inputs, answer in float with the
        quantised weights (what the arrays hold, before any analog error)."""
        self._calibration.append(x[:: max(1, len(x) // 4096)])
        if self._W_q is None:
            self._W_q = self.planes.weights()
        return x @ self._W_q

    def calibrate(self, x: np.ndarray | None = None) -> None:
        """Set the input range (largest |x|) and each array's ADC range from inputs ``x``
        (n, n_in); without ``x``, from what :meth:`record` kept."""
        if x is None:
            if not self._calibration:
                raise SimError(f"{self.name}: no calibration inputs seen")
            x = np.concatenate(self._calibration)
            x = x[:: max(1, len(x) // 8192)]
        self._calibration = []
        x = np.asarray(x, dtype=float)
        self.x_max = float(np.max(np.abs(x))) or 1.0
        self.signed = bool(np.min(x) < 0)
        with one_blas_thread():
            self._set_ranges(x)
        self.set_readouts()

    def set_readouts(self) -> None:
        """Each row tile's sense and ADC as thresholds on its currents (:mod:`.readout`)
        when they reproduce the two models and the currents are float32 (surrogate mode)."""
        for tile in self.tiles:
            exact = self.spec.nonidealities.solver == "exact"
            float32 = tile.diff is not None and tile.diff.dtype == np.float32
            tile.readout = None if exact or not float32 else \
                threshold_readout(self.backend.sense, self.adc, tile.lsb)

    def _set_ranges(self, x: np.ndarray) -> None:
        """Each array's ADC step from the currents of calibration inputs ``x`` (n, n_in)."""
        adc = self.spec.adc
        codes, _ = self._encode(x)
        for tile in self.tiles:
            if adc.range == "full":
                tile.lsb = np.full(self.n_out * self.k, self._full_scale_lsb(tile))
                continue
            peaks = np.zeros(len(tile.arrays))
            per_col = np.zeros(self.n_out * self.k)                             # largest |current|
            chunk = max(1, _CHUNK // (len(codes) * self.n_out * self.k))
            for s in range(0, len(x), chunk):
                D = self._currents(tile, codes[:, s:s + chunk, tile.rows[0]:tile.rows[1]], noise=False)
                per_col = np.maximum(per_col, np.max(np.abs(D), axis=0))
            lsb = np.empty(self.n_out * self.k)
            for j, (outs, *_rest) in enumerate(tile.arrays):
                cols = slice(outs[0] * self.k, outs[1] * self.k)
                peaks[j] = per_col[cols].max()
                lsb[cols] = (peaks[j] or 1.0) / self.adc.code_max if self.adc.bits else 1.0
            tile.lsb = lsb

    def _full_scale_lsb(self, tile) -> float:
        """ADC step covering every current the array can produce. With discrete levels and
        inputs, currents are integer multiples of ``unit`` and the step is ``unit`` times
        the smallest power of two that fits, so enough ADC bits convert without loss."""
        a, inp = self.spec.array, self.spec.inputs
        rows = tile.rows[1] - tile.rows[0]
        dac_levels = 1 if inp.encoding == "bit_serial" else (2 ** inp.bits - 1 if inp.bits else None)
        if self.adc.bits is None:
            return 1.0
        if a.cell_bits is None or dac_levels is None:
            return rows * (a.g_on - a.g_off) * a.v_read / self.adc.code_max
        unit = self.step * a.v_read / dac_levels
        worst = rows * self.planes.levels * dac_levels
        return unit * 2.0 ** max(0, int(np.ceil(np.log2(worst / self.adc.code_max))))

    # ---------------------------------------------------------------------- running
    def _encode(self, x):
        """Inputs (n, n_in) -> ``(codes, weights)`` (:func:`.encoding.encode`)."""
        return encode(x, self.x_max, self.signed, self.spec.inputs, self.spec.array.v_read)

    def _voltages(self, codes):
        return codes if self.level_v is None else self.level_v[codes]

    def _currents(self, tile, codes, noise=None):
        """Sensed differences (P*n, n_out*k) (A) for ``codes`` (P, n, rows) of this row tile;
        ``noise``: standard-normal draws (P*n, n_out*k) or (P, n, n_out*k) scaled by each
        read's noise std and added (None or False: the noiseless currents)."""
        exact = self.spec.nonidealities.solver == "exact"
        noisy = isinstance(noise, np.ndarray) and tile.sq is not None
        flat = self._flat(tile, codes)
        D = self._solved(tile, flat) if exact else tile.diff.apply(flat)
        if noisy:
            sigma = tile.sq.apply(flat)                       # noise variance of the pair (A^2)
            if not tile.sq_nonnegative:
                np.maximum(sigma, 0.0, out=sigma)
            np.sqrt(sigma, out=sigma)
            scaled = sigma.reshape(noise.shape)   # (P, n, cols) draws: a view of a larger block
            scaled *= noise
            D += sigma.astype(D.dtype, copy=False)
        return D

    def _flat(self, tile, codes) -> np.ndarray:
        """Codes (P, n, rows) as the (P*n, rows) rows of the tile's products."""
        P, n, r = codes.shape
        if (self.spec.nonidealities.solver != "exact" and tile.diff.mode == "two" and tile.sq is not None
                and tile.sq.mode == "two"):
            # bits: one conversion for both products, straight from the strided block
            return codes.astype(np.float32).reshape(P * n, r)
        return codes.reshape(P * n, r)

    def _solved(self, tile, flat) -> np.ndarray:
        """Sensed differences (m, n_out*k) (A) of input codes ``flat`` (m, rows), each array
        solved by the exact nonlinear crossbar solver."""
        # Solve each distinct input vector once: bit-serial pulses and zero padding repeat
        # a lot (9 rows of bits have at most 512 patterns), and the solve is deterministic.
        if self.level_v is not None:
            flat, inverse = np.unique(flat, axis=0, return_inverse=True)
            inverse = inverse.ravel()
        V = self._voltages(flat)
        D = np.empty((len(flat), self.n_out * self.k))
        for outs, G, plus_idx, minus_idx in tile.arrays:
            I = self.backend.solver(*G.shape, exact=True).column_currents(G, V)
            D[:, outs[0] * self.k:outs[1] * self.k] = (I[:, plus_idx] - I[:, minus_idx]).reshape(len(flat), -1)
        return D[inverse] if self.level_v is not None else D

    def _read_cycle(self, reads: float) -> tuple[str, float]:
        """(event, s) of ``reads`` reads per inference. Row tiles work in parallel; each read
        waits for the busiest array's ADCs: the cycle is ``t_read`` (event ``time:read``) or
        the conversions of one ADC (``time:adc:BITS``), whichever is longer."""
        bits = self.tiles[0].adc_bits
        busiest = max(t.conv_per_array for t in self.tiles)
        t_adc = -(-busiest // self.spec.adc.per_array) * self.backend.conversion_time(bits)
        t_read = self.spec.array.t_read
        return ("time:read", reads * t_read) if t_read >= t_adc else (f"time:adc:{bits}", reads * t_adc)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self.backend.calibrating:
            return self.record(x)
        if self.x_max is None:
            raise SimError(f"{self.name}: not calibrated; run the backend's calibrate() first")
        # one BLAS thread: the tiles' products are skinny (64 * terms deep); OpenBLAS's two
        # threads spin against each other on a shared machine (measured at load 8: a
        # (128, 192) @ (192, 1024) float32 product took 28 ms on two threads, 0.7 ms on one)
        # the diagnosis's float product too (at most DIAGNOSIS_VECTORS rows): woken for it,
        # OpenBLAS's threads spun on into the next layer's reads, against the tile threads
        # (a 224x224 ResNet-18's reference cost one float inference, not a fifth)
        with one_blas_thread():
            out = self._run(x)
            if self.backend.float_reference:
                self._error(x, out)
        return out

    def _run(self, x: np.ndarray) -> np.ndarray:
        """The analog product of ``x`` (n, n_in) -> (n, n_out), every event counted."""
        n = len(x)
        codes_all, weights = self._encode(x)
        # an input row is a word line in each of the row tile's column arrays, each with its own
        # driver (the area counts one per array row): every drive is made that many times
        fan = len(self.plan.out_groups)
        if self.backend.blocks.dac is not None:   # a characterized DAC prices each code (sim/dac_block.py)
            self.backend.blocks.dac.count(self.backend, self.name, codes_all, fan)
        P = len(codes_all)
        C = self.n_out * self.k
        ledger, a = self.backend.ledger, self.spec.array
        summed, tally = self._tile_passes(codes_all, weights)   # codes x ADC step over pulses and row tiles
        for tile in self.tiles:
            ledger.add(self.name, f"adc:{tile.adc_bits}", P * n * C)
        ledger.add(self.name, "array_energy", in_order(tally.energy))
        ledger.add(self.name, "driver_pulses", int(tally.pulses) * fan)
        ledger.add(self.name, *self._read_cycle(P * n / self.backend.batch))
        conversions = P * n * C * len(self.tiles)
        ledger.add(self.name, "sense_samples", conversions)
        if getattr(self.backend.sense, "energy_surrogate", None) is not None:
            # J; see docs/validation.md for its pricing
            ledger.add(self.name, "sense_energy", in_order(tally.sense_energy))
        ledger.add(self.name, "shift_add", conversions)
        ledger.add(self.name, "digital:add", n * self.n_out * (len(self.tiles) - 1))  # partial sums / splits
        in_bits = self.spec.inputs.bits or ACTIVATION_BITS
        ledger.add(self.name, "buffer_bits", n * (self.n_in * in_bits + self.n_out * ACTIVATION_BITS))
        # slices' significance summed onto each output, once for every row tile; then the unit
        # conversion: a current of step * v_read per (digit x input) is one weight unit
        powers = self.planes.base ** np.arange(self.k) * (self.planes.scale * self.x_max / (self.step * a.v_read))
        out = summed.reshape(n, self.n_out, self.k) @ powers
        ledger.diagnose(self.name, clipped=tally.clipped, conversions=conversions,
                        attenuation=float(np.mean([t.attenuation for t in self.tiles])) * n, vectors=n)
        return out

    def _tile_passes(self, codes_all, weights) -> tuple[np.ndarray, Tally]:
        """Every row tile's reads of ``codes_all`` (P, n, n_in): codes x ADC step summed over
        pulses and tiles (n, n_out*k), and the events.

        With ``backend.threads`` > 1 (surrogate mode) the reads run on that many threads with
        the draws and sums of one thread, bit for bit: split by input vectors where there
        are enough (:mod:`.vector_split`), else that many tiles at once, each drawing its noise
        from the generator's stream where the tiles before it leave it (:meth:`_stream_starts`),
        into its own sums, which are then added in tile order."""
        P, n, _ = codes_all.shape
        C = self.n_out * self.k
        rng, threads = self.backend.rng, getattr(self.backend, "threads", 1)
        exact = self.spec.nonidealities.solver == "exact"   # (its solver caches factorisations: one thread)
        if threads > 1 and not exact:
            block, step = max(1, _DRAW_BLOCK // (P * C)), max(1, _CHUNK // (P * C))
            groups = chunk_groups(n, block, step, threads)
            if groups is not None and all(self._fused(tile) is not None for tile in self.tiles):
                return read_by_vectors(self, codes_all, groups, tile_pool(threads), weights)
        tally = Tally()
        starts, total = self._stream_starts(P, n)
        if threads <= 1 or len(self.tiles) == 1 or exact:
            summed = np.zeros((n, C))
            for tile, start in zip(self.tiles, starts):
                self._tile_reads(tile, codes_all, weights, summed, tally, start)
            rng.bit_generator.advance(total)
            return summed, tally

        def job(tile, start):
            part, events = np.zeros((n, C)), Tally()
            self._tile_reads(tile, codes_all, weights, part, events, start)
            return part, events

        summed, pool = None, tile_pool(threads)
        for w in range(0, len(self.tiles), threads):
            futures = [pool.submit(job, self.tiles[t], starts[t]) for t in range(w, min(w + threads, len(self.tiles)))]
            for future in futures:            # in tile order (0 + the first tile's == the first's)
                part, events = future.result()
                summed = part if summed is None else np.add(summed, part, out=summed)
                tally.merge(events)
        rng.bit_generator.advance(total)
        return summed, tally

    def _stream_starts(self, P: int, n: int) -> tuple[list[int], int]:
        """Where each row tile's read noise starts in the backend generator's stream, in raw
        outputs, for ``P`` pulses over ``n`` vectors (tiles in order, each after the ones
        before it), and the outputs all of them take: what :meth:`_tile_reads` draws for a
        tile (:func:`~cimspice.sim.noise.normal_indices`: four draws from each; none without
        read noise)."""
        C = self.n_out * self.k
        block = max(1, _DRAW_BLOCK // (P * C))
        per_tile = sum(-(-(P * min(block, n - s0) * C) // 4) for s0 in range(0, n, block))
        starts, total = [], 0
        for tile in self.tiles:
            starts.append(total)
            total += per_tile if tile.sq is not None else 0
        return starts, total

    def _tile_reads(self, tile, codes_all, weights, summed, tally, start: int, lo: int = 0,
                    hi: int | None = None) -> None:
        """The reads of row tile ``tile`` for vectors ``lo..hi`` (default: all) of
        ``codes_all`` (P, n, n_in), pulses weighted by ``weights`` (P,): codes x ADC step added
        into ``summed`` (n, n_out*k), events into ``tally``. The tile's read noise is the
        backend generator's stream from ``start`` raw outputs on (the generator is left as it
        is: the caller advances it past all tiles' draws, :meth:`_stream_starts`), so a range's draws
        are those the whole tile's reads give its vectors (:func:`.vector_split.block_indices`).

        Read noise is drawn in blocks of :data:`_DRAW_BLOCK` conversions in (pulse, vector,
        column) order, which fixes the draws whatever the work block; the reads themselves
        run in blocks of :data:`_CHUNK` conversions, whose passes (noise, sense, ADC,
        shift-add) stay in cache (twice as fast as over 2**21-element blocks, measured):
        one fused loop (:mod:`.kernels`) where it applies, NumPy's dozen passes elsewhere.
        A draw block's drive energy is booked by the range holding the block's first vector."""
        P, n, _ = codes_all.shape
        hi = n if hi is None else hi
        C = self.n_out * self.k
        r0, r1 = tile.rows
        rng = self.backend.rng
        block, step = max(1, _DRAW_BLOCK // (P * C)), max(1, _CHUNK // (P * C))
        raw_per_block = -(-(P * block * C) // 4)     # every block before the last is whole
        fused = self._fused(tile)   # the fused loop, or None: NumPy's passes
        for s0 in range(lo - lo % block, hi, block):      # the draw blocks that hold lo..hi
            b = min(block, n - s0)
            a, e = max(lo, s0) - s0, min(hi, s0 + b) - s0
            codes = codes_all[:, s0:s0 + b, r0:r1]
            # tabulated-inversion draws (sim/noise.py): a third of the ziggurat's time, which
            # dominated bit-serial inference, and far finer than any ADC step
            idx = None
            if tile.sq is not None:
                idx = block_indices(rng, start + (s0 // block) * raw_per_block, (P, b, C), a, e)
            z = np.take(TABLE, idx) if idx is not None and fused is None else None
            for s in range(a, e, step):
                m = min(step, e - s)
                if fused is not None:
                    self._convert_fused(fused, tile, codes[:, s:s + m], idx, s - a, weights, summed, s0 + s, tally)
                    continue
                draws = None if z is None else z[:, s - a:s - a + m]
                self._convert(tile, codes[:, s:s + m], draws, weights, summed[s0 + s:s0 + s + m], tally)
            if a == 0:
                energy, pulses = tile.drive(codes_all, s0, b)
                tally.energy.append(energy * self.spec.array.t_read)
                tally.pulses += pulses

    def _fused(self, tile):
        """The tile's fused read loop (:meth:`.row_tile.RowTile.fused_reads`), or None."""
        if self.spec.nonidealities.solver == "exact":
            return None
        priced = getattr(self.backend.sense, "energy_surrogate", None) is not None
        return tile.fused_reads(self._sense_energy, priced)

    def _convert_fused(self, fused, tile, codes, idx, v0, weights, summed, row0, tally) -> None:
        """:meth:`_convert` of ``codes`` (P, m, rows) in one loop: draws ``idx[:, v0:v0 + m]``
        (``idx`` (P, b, C) indices, or None: no noise), added into ``summed[row0:row0 + m]``."""
        flat = self._flat(tile, codes)
        D = tile.diff.apply(flat)
        V = tile.sq.apply(flat) if idx is not None else None
        clipped, energy = fused(D, V, idx, v0, weights, summed, row0)
        tally.clipped += clipped
        if fused.priced:
            tally.sense_energy.append(energy)

    def _convert(self, tile, codes, draws, weights, summed, tally) -> None:
        """Reads of ``codes`` (P, m, rows) with noise ``draws``: sensed, converted, and the
        codes times each column's ADC step added into ``summed`` (m, n_out*k)."""
        P, m, _ = codes.shape
        sense = self.backend.sense
        I = self._currents(tile, codes, draws)
        if getattr(sense, "energy_surrogate", None) is not None:
            # a characterized sense circuit's energy per read, from the currents it senses
            fast = self._sense_energy is not None and I.dtype == np.float32
            tally.sense_energy.append(self._sense_energy(I) if fast else sense.energy(I))
        if tile.readout is not None and I.dtype == np.float32:
            # the same codes as small integers, a third of the time
            adc_codes = tile.readout.codes(I).reshape(P, -1)
        else:
            D = sense.sense(I)
            adc_codes = self.adc.convert(D, tile.lsb.astype(D.dtype, copy=False)).reshape(P, -1)
        if np.isfinite(self.adc.code_max):
            # integer codes against an integer: a float bound would compare them as float64
            c = int(self.adc.code_max) if adc_codes.dtype.kind == "i" else self.adc.code_max
            tally.clipped += int(np.count_nonzero(adc_codes >= c) + np.count_nonzero(adc_codes <= -c))
        # pulses' significance, then each column's ADC step: O(m C) per row tile
        # (a (C, n_out) shift-add matrix per tile costs O(m C n_out): 512 outputs make
        # it 8x the signal product of a 64-row tile)
        # (one pulse: a scalar product, none at weight 1; pulses: the read-out's integer codes
        # as float64, the one BLAS product the direct path's float64 codes take)
        if P > 1:
            pulsed = weights @ (adc_codes.astype(np.float64) if adc_codes.dtype.kind == "i" else adc_codes)
        else:
            pulsed = adc_codes[0] if weights[0] == 1.0 else adc_codes[0] * weights[0]
        pulsed = pulsed.reshape(m, -1)
        if pulsed.dtype == np.float64:        # a fresh array: scaled in place
            summed += np.multiply(pulsed, tile.lsb, out=pulsed)
        else:
            summed += pulsed * tile.lsb

    def _error(self, x, out) -> None:
        """The diagnosis's error sums of ``out`` against the float network's product of the
        same inputs ``x``: this layer's own error, on at most :data:`DIAGNOSIS_VECTORS` of
        the call's input vectors, evenly strided."""
        # a statistic, not an output: 4,096 vectors of a 5-column layer gave the RMS
        # ratio within 0.07-0.5 %, and a full float product per call was as long as the float
        # network's whole inference (a 224x224 ResNet-18's convolutions: 25,088 vectors a call)
        step = -(-len(x) // DIAGNOSIS_VECTORS)
        if step > 1:
            x, out = x[::step], out[::step]
        reference = x @ self.W
        self.backend.ledger.diagnose(self.name, error_sq=float(np.sum((out - reference) ** 2)),
                                     reference_sq=float(np.sum(reference ** 2)))
