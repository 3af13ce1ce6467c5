#!/usr/bin/python3
"""Kick + snare grouping across drum kits: does `separate -k 6 --sources 2`
stay at the best grouping on kits it was not chosen on?

examples/make_material.py makes its kick + snare mixtures from one kit
(Colombo). This job makes the same grooves (make_material's drum_hits: the
tempo, swing, ghost notes, fills and velocities of each seed) from every
hydrogen kit that has a kick and a snare, and scores on each mixture (exact
bss_eval SDR, quality_grouping.Exact; mean over kick and snare, best
permutation):

  grouping=M   separate -k 6 --sources 2 --grouping M --beta kl (scored as
               the sum of the components' WAVs, made at the --sources
               mask power: quality_grouping.comp_extra)
  oracle       the best of the 2^6 assignments of the same 6 components,
               found with the true stems
  direct R=S   separate -k 2 --beta kl (its default mask power, 1)
  sklearn      the issue's peer: scikit-learn's NMF, 2 components, KL, soft
               mask (sklearn_direct), on the same mixture
  ideal mask   the true stems' own soft masks at power 2 (ideal_mask): what
               no mask-based separation can beat, NMF's included (capped at
               60 dB where the two never share a bin)

A kit's kick and snare are its first instruments named like "kick" / "bass
drum" and "snare" (not rimshot, roll, stick); a hit of velocity v takes the
layer whose [min, max] holds v (hydrogen's rule). --kits gm uses FluidR3_GM's
8 percussion kits instead (fluidsynth, channel 10: Bass Drum 1 and Acoustic
Snare, the MIDI velocity of each hit).

--groove pairs scores S = 2 on mixtures with a pitched source instead: two
stems of make_material's piano + bass + drums test songs of each seed.

  /usr/bin/python3 jobs/quality_grouping_kits.py --specnmf BUILD [--np N] [--groove song|loop|pairs]
      [--kits all|gm|NAME,...|gm:PROGRAM,...] [--seeds 3001,3002] [--methods auto,both,peaks] [--extra '--mask-power 2']
      [--work DIR] [--out TABLE.md]
"""
import argparse
import os
import re
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import numpy as np
import soundfile as sf

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "examples"))
import quality_grouping as qg  # noqa: E402
import quality_sources as qs  # noqa: E402
import make_material as mm  # noqa: E402
import make_example as mx  # noqa: E402

KITS = "/usr/share/hydrogen/data/drumkits"
ROLE = {"kick": re.compile(r"kick|bass ?drum", re.I), "snare": re.compile(r"snare", re.I)}
NOT = re.compile(r"rim|roll|stick|brush|flam", re.I)


def _tag(e):
    return e.tag.rsplit("}", 1)[-1]


def kit_parts(path):
    """{'kick': [(min, max, file)], 'snare': [...]} of a kit, or None."""
    root = ET.parse(os.path.join(path, "drumkit.xml")).getroot()
    found = {}
    for ins in root.iter():
        if _tag(ins) != "instrument":
            continue
        name = next((c.text or "" for c in ins if _tag(c) == "name"), "")
        layers = []
        for lay in ins.iter():
            if _tag(lay) != "layer":
                continue
            f = {_tag(c): (c.text or "") for c in lay}
            if f.get("filename"):
                layers.append((float(f.get("min", 0)), float(f.get("max", 1)), os.path.join(path, f["filename"])))
        if not layers:
            fn = next((c.text for c in ins if _tag(c) == "filename"), None)
            if fn:
                layers = [(0.0, 1.0, os.path.join(path, fn))]
        for role, rx in ROLE.items():
            if role not in found and rx.search(name) and not NOT.search(name) and layers:
                if all(os.path.exists(p) for _, _, p in layers):
                    found[role] = sorted(layers)
    return found if len(found) == 2 else None


GM_KITS = {0: "Standard", 8: "Room", 16: "Power", 24: "Electronic", 25: "TR-808", 32: "Jazz", 40: "Brush",
           48: "Orchestra"}  # FluidR3_GM's percussion kits (bank 128)
GM_NOTE = {"kick": 36, "snare": 38}  # GM Bass Drum 1, Acoustic Snare


def render(hits, layers, sr, n, rng):
    if layers[0] == "gm":  # fluidsynth, GM percussion channel; the velocity picks FluidR3's layer and level
        notes = [(t0, 0.5, layers[2], int(np.clip(round(vel * 127), 1, 127))) for t0, vel in hits]
        return mx._render(notes, layers[1], sr, n, channel=9)
    out = np.zeros(n)
    for t0, vel in hits:
        f = next((p for lo, hi, p in layers if lo <= vel <= hi), layers[-1][2])
        x = mx._load_sample(f, sr) * vel * (1.0 + 0.05 * rng.standard_normal())
        a = int(round(t0 * sr))
        b = min(n, a + len(x))
        if b > a:
            out[a:b] += x[:b - a]
    return out


def loop_hits(song, velocity=0.9):
    """A plain loop, as a drum-machine user would make it: kick on beats 1
    and 3 (and the 8th before 3), snare on 2 and 4, one velocity, on the grid."""
    step, spb = mm._grid(song)
    hits = []
    for bar in range(int(song["seconds"] / (step * spb)) + 1):
        for s, part in ((0, "kick"), (4, "snare"), (6, "kick"), (8, "kick"), (12, "snare")):
            if s < spb:
                hits.append(((bar * spb + s) * step, part, velocity, ""))
    return [h for h in hits if h[0] < song["seconds"]]


def write_mixture(d, stems, sr):
    """Write d/NAME.wav for each stem and d/mix.wav, their sum, all scaled by one
    gain that keeps the mix's peak <= 0.9 (float WAV); {name: path}."""
    mix = sum(stems.values())
    g = min(1.0, 0.9 / max(1e-12, np.max(np.abs(mix))))
    os.makedirs(d, exist_ok=True)
    paths = {}
    for k, v in list(stems.items()) + [("mix", mix)]:
        paths[k] = os.path.join(d, k + ".wav")
        sf.write(paths[k], (v * g).astype(np.float32), sr, subtype="FLOAT")
    return paths


def mixture(parts, seed, seconds, sr, d, groove="song"):
    """Write d/{mix,kick,snare}.wav; the grooves are make_material's test
    grooves of seed (groove "song") or loop_hits at the song's tempo ("loop")."""
    n = int(round(seconds * sr))
    song = mm.make_song(mm._rng("test", seed, "song"), seconds)
    drng = mm._rng("test", seed, "drums")
    hits = mm.drum_hits(song, drng)[0] if groove == "song" else loop_hits(song)
    mrng = mm._rng("test", seed, "mix")
    stems = {}
    for role in ("kick", "snare"):
        h = [(t, v) for t, p, v, _ in hits if p == role]
        x = render(h, parts[role], sr, n, drng)
        stems[role] = mx._level(x, mm.LEVEL[role] * 10 ** (float(mrng.uniform(-3, 3)) / 20))
    return write_mixture(d, stems, sr)


PAIRS = (("piano", "drums"), ("bass", "drums"), ("piano", "bass"))


def pair_mixture(seed, a, b, seconds, sr, d):
    """Write d/{mix,A,B}.wav: two stems of make_material's piano + bass + drums test song of seed."""
    stems, _ = mm.test_song("piano_bass_drums", seconds, sr, seed)
    return write_mixture(d, {a: stems[a], b: stems[b]}, sr)


def _stft(x, n_fft, hop):
    """scipy's STFT with separate's window and hop (Hann, n_fft, hop): (F, N) complex."""
    from scipy.signal import stft
    return stft(x, nperseg=n_fft, noverlap=n_fft - hop, window="hann")[2]


def _masked(X, masks, n, n_fft, hop):
    """Each mask (F, N) applied to the mixture's STFT X and inverted: (len(masks), n)."""
    from scipy.signal import istft
    out = np.zeros((len(masks), n))
    for r, M in enumerate(masks):
        y = istft(M * X, nperseg=n_fft, noverlap=n_fft - hop, window="hann")[1]
        out[r, :min(n, len(y))] = y[:n]
    return out


def sklearn_direct(mix, S, n, n_fft=2048, hop=512):
    """The issue's peer: scikit-learn's NMF (KL, multiplicative updates, its
    defaults otherwise: nndsvda start, 200 iterations, tol 1e-4) with S
    components of the mixture's magnitude spectrogram (Hann, n_fft, hop, as
    separate's), each part the soft mask W[:, r] H[r] / WH on the mixture's
    complex STFT; (S, n) mono parts."""
    from sklearn.decomposition import NMF
    X = _stft(qg.read_mono(mix, n), n_fft, hop)
    m = NMF(n_components=S, beta_loss="kullback-leibler", solver="mu", random_state=0)
    W = m.fit_transform(np.abs(X))
    H = m.components_
    WH = W @ H + 1e-20
    return _masked(X, [np.outer(W[:, r], H[r]) / WH for r in range(S)], n, n_fft, hop)


# dB: where the sources never share a bin the ideal mask is exact (200+ dB), which no mean should carry
IDEAL_CAP = 60.0


def ideal_mask(refs, mix, n, power=2.0, n_fft=2048, hop=512):
    """The ceiling of every soft-mask separation (NMF's included): each
    source's mask |S_j|^p / sum_i |S_i|^p made from the true stems (the ideal
    ratio mask at p = 1; p = 2, the --sources mask power, scores higher here)
    on the mixture's complex STFT; (S, n)."""
    P = [np.abs(_stft(r, n_fft, hop)) ** power for r in refs]
    T = sum(P) + 1e-30
    return _masked(_stft(qg.read_mono(mix, n), n_fft, hop), [Pj / T for Pj in P], n, n_fft, hop)


def parts_of(out, R, n):
    """The R component WAVs of a separate run's OUTDIR, mono, n samples each."""
    return np.stack([qg.read_mono(os.path.join(out, "component-%02d.wav" % r), n) for r in range(R)])


def cases(a, names, seeds, work):
    """(tag, {name: path}, reference names) of every mixture asked for."""
    if a.groove == "pairs":
        for seed in seeds:
            for x, y in PAIRS:
                tag = "%s_%s-%d" % (x, y, seed)
                yield tag, pair_mixture(seed, x, y, a.seconds, a.sr, os.path.join(work, tag, "material")), (x, y)
        return
    for kit in names:
        if kit.startswith("gm:"):
            prog = int(kit[3:])
            parts = {r: ("gm", prog, GM_NOTE[r]) for r in GM_NOTE}
            kit = "GM_" + GM_KITS.get(prog, str(prog))
        else:
            parts = kit_parts(os.path.join(KITS, kit))
        if parts is None:
            print("%s: no kick and snare, skipped" % kit, file=sys.stderr)
            continue
        for seed in seeds:
            tag = "%s-%d" % (re.sub(r"\W+", "_", kit), seed)
            p = mixture(parts, seed, a.seconds, a.sr, os.path.join(work, tag, "material"), a.groove)
            yield tag, p, ("kick", "snare")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--specnmf", required=True)
    ap.add_argument("--np", type=int, default=1)
    ap.add_argument("--kits", default="all", help="all: the hydrogen kits with a kick and a snare; gm: FluidR3_GM's "
                                                  "percussion kits; or names (gm:PROGRAM for one GM kit)")
    ap.add_argument("--seeds", default="3001,3002")
    ap.add_argument("--methods", default="auto,both,peaks")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--sr", type=int, default=22050)
    ap.add_argument("--work")
    ap.add_argument("--out")
    ap.add_argument("--extra", default="")
    ap.add_argument("--groove", choices=("song", "loop", "pairs"), default="song",
                    help="song: make_material's grooves (ghost notes, fills, velocities); loop: loop_hits; pairs: "
                         "not kits but two stems of make_material's piano + bass + drums songs (piano + drums, "
                         "bass + drums, piano + bass)")
    a = ap.parse_args()
    qg.EXTRA[:] = a.extra.split()
    exe = os.path.join(a.specnmf, "specnmf") if os.path.isdir(a.specnmf) else a.specnmf
    run = qs.Runner(exe, a.np)
    work = a.work or tempfile.mkdtemp(prefix="quality_grouping_kits_")
    names = (sorted(os.listdir(KITS)) if a.kits == "all" else ["gm:%d" % p for p in GM_KITS] if a.kits == "gm"
             else a.kits.split(","))
    methods = [m for m in a.methods.split(",") if m]
    seeds = [int(s) for s in a.seeds.split(",") if s]
    rows = []
    t0 = time.time()
    for tag, p, refnames in cases(a, names, seeds, work):
        d = os.path.join(work, tag)
        n = sf.info(p["mix"]).frames
        refs = np.stack([qg.read_mono(p[k], n) for k in refnames])
        comps = parts_of(qg.sep(run, p["mix"], os.path.join(d, "components"), 6, qg.comp_extra()), 6, n)
        ex = qg.Exact(comps, refs)
        r = {}
        for m in methods:
            out = qg.sep(run, p["mix"], os.path.join(d, "grouping-" + m), 6, ["--sources", 2, "--grouping", m])
            r[m] = ex.unnamed(qg.source_of(out))
        A, v, _ = ex.best()
        r["oracle"] = v
        direct = parts_of(qg.sep(run, p["mix"], os.path.join(d, "direct"), 2, []), 2, n)
        r["direct"] = qg.Exact(direct, refs).unnamed([0, 1])
        r["sklearn"] = qg.Exact(sklearn_direct(p["mix"], 2, n), refs).unnamed([0, 1])
        ideal = qg.Exact(ideal_mask(refs, p["mix"], n), refs).named(np.array([[0, 1]]))[0]  # in the stems' order
        r["ideal mask"] = min(IDEAL_CAP, float(ideal))
        rows.append((tag, r, [int(x) for x in A]))
        print("%s: %s" % (tag, ", ".join("%s %.2f" % kv for kv in r.items())), file=sys.stderr, flush=True)
    cols = methods + ["oracle", "direct", "sklearn", "ideal mask"]
    L = ["| mixture | " + " | ".join(cols) + " |", "| --- |" + " ---: |" * len(cols)]
    for tag, r, _ in rows:
        L.append("| %s | %s |" % (tag, " | ".join("%.2f" % r[c] for c in cols)))
    L.append("| **mean** | %s |" % " | ".join("%.2f" % np.mean([r[c] for _, r, _ in rows]) for c in cols))
    L.append("| median | %s |" % " | ".join("%.2f" % np.median([r[c] for _, r, _ in rows]) for c in cols))
    what = ("Pairs of piano + bass + drums stems" if a.groove == "pairs" else
            "Kick + snare across %s kits (%s grooves)" % ("FluidR3_GM" if a.kits == "gm" else "hydrogen", a.groove))
    no_grouping = ("direct", "sklearn", "ideal mask")  # R = 2 runs and the ideal mask group no components
    at = " | ".join("—" if c in no_grouping else "%d" % sum(abs(r[c] - r["oracle"]) < 0.01 for _, r, _ in rows)
                    for c in cols)
    L.append("| at the best grouping | %s |" % at)
    text = ("%s, R = 6, S = 2, --beta kl %s; exact bss_eval SDR (dB), mean of the two sources; %d mixtures, seeds %s, "
            "%.0f s\n\n%s" % (what, a.extra, len(rows), a.seeds, time.time() - t0, "\n".join(L)))
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
