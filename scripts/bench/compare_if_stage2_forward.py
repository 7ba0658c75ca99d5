"""DeepFloyd IF stage II UNet forward: Darkroom beside PyTorch CPU on an IF-II-L-shaped model with random weights.

Usage (from the repository root, after `swift build -c release`):
    python3 scripts/bench/compare_if_stage2_forward.py [--threads 2] [--batch 2] [--runs 1] [--warmup 0] [--fp32]
        [--profile] [--darkroom-only | --torch-only] [--check-size 64] [--cache DIR]

The model is IF-II-L's layout (../shared/spec/deepfloyd-if-stage2.md §1.1: block widths [160, 320, 640, 960, 1280],
layers [2, 2, 3, 5, 5], cross-attention 1280, E = 4096, time embedding 1280, about 1.2 B parameters), made once by
diffusers with PyTorch's default initialisation and saved under --cache (a temporary folder) as the fp16 weight
variant, as the released checkpoint is (--fp32: the fp32 file instead). Making it takes a few minutes and ~8 GB.
With it a reference input and output for a correctness check are saved (batch 1 at --check-size², default 64²:
any multiple of 16 works).

PyTorch and Darkroom then run in separate processes, so each peak RSS is its own:
- PyTorch: `from_pretrained` in fp32, --warmup untimed then --runs timed forwards (one batch-2 forward at 256² takes
  ~40 s on 2 cores) per --batch size at --size², timestep 950 and noise level (class label) 250 for every sample;
- Darkroom: `darkroom bench --model CACHE --batch … --seconds S --json` (one untimed warm-up, then at least two
  timed forwards at the config's sample_size, 256²), and `darkroom forward --expect` on the reference io file.
Darkroom's bench has no size option, so --size only matters for PyTorch-only experiments (--torch-only): leave it
at 256 when comparing.

Prints per batch size both times and their ratio (Darkroom / PyTorch; target ≤ 0.6), both peak RSS and their ratio
(target ≤ 0.5), Darkroom's time per layer type with --profile, and the estimated time of a whole 20-step upscale
(20 forwards: with batch 2, one image with classifier-free guidance).

Debug options (not in --help): --widths, --layers, --cross and --head-dim (default 64) give a smaller model of the
same layout, e.g.
    --widths 32 64 96 128 192 --layers 1 1 1 1 1 --cross 128 --torch-only --size 64
Widths and --cross must be multiples of 32 (norm groups), the last two widths (attention) of the head size. The time
embedding is 8 × the first width (1280 for IF-II-L), as in if2_config.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))

IF2_L_WIDTHS = [160, 320, 640, 960, 1280]
IF2_L_LAYERS = [2, 2, 3, 5, 5]
IF2_L_CROSS = 1280
ENCODER_DIM = 4096
SAMPLE_SIZE = 256
TIMESTEP = 950      # the first step of a 20-step upscale ("leading" spacing: 950, 900, …, 0)
NOISE_LEVEL = 250   # IFSuperResolutionPipeline's default noise_level, passed as class_labels
STEPS = 20


def config_of(args):
    from if_unet import if2_config

    return if2_config(args.widths, args.cross, ENCODER_DIM, layers=args.layers, head_dim=args.head_dim, groups=32, pool_heads=64,
                      sample_size=SAMPLE_SIZE, time_dim=8 * args.widths[0])


def make_model(args):
    """Writes CACHE/unet (once) and CACHE/io.safetensors (again if --check-size changed)."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file
    from if_unet import forward, parameter_count, random_inputs, random_unet, save_unet

    torch.set_num_threads(args.threads)
    fp16 = not args.fp32
    io_path = os.path.join(args.cache, "io.safetensors")
    model = None
    if not os.path.exists(os.path.join(args.cache, "unet", "config.json")):
        t0 = time.perf_counter()
        model = random_unet(config_of(args), seed=7, spread_norms=False)
        # With fp16 this rounds the model's own weights to fp16 first, so the reference below is that of the file.
        save_unet(model, args.cache, fp16=fp16)
        print(f"made an IF-II-shaped UNet {args.widths}, layers {args.layers}, cross {args.cross}, with "
              f"{parameter_count(model):,} parameters ({'fp16' if fp16 else 'fp32'} file) in {args.cache} "
              f"in {time.perf_counter() - t0:.0f} s", flush=True)
    if os.path.exists(io_path):
        with safe_open(io_path, "pt") as f:
            if list(f.get_slice("sample").get_shape()) == [1, 6, args.check_size, args.check_size]:
                return
    if model is None:
        import diffusers
        from diffusers import UNet2DConditionModel
        diffusers.utils.logging.set_verbosity_error()
        model = UNet2DConditionModel.from_pretrained(os.path.join(args.cache, "unet"), variant="fp16" if fp16 else None,
                                                     torch_dtype=torch.float32).eval()
    s = args.check_size
    inputs = random_inputs(1, s, s, ENCODER_DIM, seed=8, channels=6, class_labels=True)
    out = forward(model, inputs)
    save_file({**{k: v.contiguous() for k, v in inputs.items()}, "out": out.contiguous()}, io_path)
    print(f"saved the reference input and output ({s}x{s}, batch 1) to {io_path}", flush=True)


def status_bytes(field):
    """A line of /proc/self/status in bytes: "VmRSS:" (resident now) or "VmHWM:" (peak); None if unreadable."""
    try:
        with open("/proc/self/status") as f:
            line = next(l for l in f if l.startswith(field))
        return int(line.split()[1]) * 1024
    except (OSError, StopIteration, ValueError):
        return None


def time_torch(args):
    import torch
    import diffusers
    from diffusers import UNet2DConditionModel

    diffusers.utils.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model = UNet2DConditionModel.from_pretrained(os.path.join(args.cache, "unet"), variant=None if args.fp32 else "fp16",
                                                 torch_dtype=torch.float32).eval()
    load = time.perf_counter() - t0
    after_load = status_bytes("VmRSS:")
    # Without `accelerate`, from_pretrained first initialises a random fp32 model, then loads the file beside it:
    # the whole-process peak includes that. Resetting the peak (Linux clear_refs 5) also gives the forwards' own.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    g = torch.Generator().manual_seed(3)
    results = {}
    for b in args.batch:
        x = torch.randn(b, 6, args.size, args.size, generator=g)
        e = torch.randn(b, 77, ENCODER_DIM, generator=g)
        t = torch.full((b,), TIMESTEP, dtype=torch.int64)
        labels = torch.full((b,), NOISE_LEVEL, dtype=torch.int64)
        times = []
        with torch.inference_mode():
            for _ in range(args.warmup):
                model(x, t, encoder_hidden_states=e, class_labels=labels)
            for _ in range(args.runs):
                t0 = time.perf_counter()
                model(x, t, encoder_hidden_states=e, class_labels=labels)
                times.append(time.perf_counter() - t0)
        times.sort()
        results[b] = {"median_s": times[len(times) // 2], "min_s": times[0], "runs": len(times)}
        print(f"PyTorch batch {b}: {results[b]['median_s']:.3f} s", file=sys.stderr, flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"load_s": load, "times": results, "peak_rss_bytes": peak, "rss_after_load_bytes": after_load,
                      "forward_peak_rss_bytes": status_bytes("VmHWM:") if reset else None, "size": args.size,
                      "threads": torch.get_num_threads()}))


def child(args, mode):
    """Runs this script in `mode` in a new process; its stderr passes through, its stdout is returned."""
    cmd = [sys.executable, __file__, mode, "--cache", args.cache, "--threads", str(args.threads),
           "--batch", *map(str, args.batch), "--size", str(args.size), "--runs", str(args.runs),
           "--warmup", str(args.warmup), "--check-size", str(args.check_size), "--widths", *map(str, args.widths),
           "--layers", *map(str, args.layers), "--cross", str(args.cross), "--head-dim", str(args.head_dim)]
    run = subprocess.run(cmd + (["--fp32"] if args.fp32 else []), stdout=subprocess.PIPE, text=True)
    if run.returncode != 0:
        sys.exit(f"the {mode} step failed (exit {run.returncode}; its error is above)")
    return run.stdout


def last_json(text):
    return json.loads(text.strip().splitlines()[-1])


def gb(n):
    return f"{n / 1e9:.2f} GB"


def main():
    p = argparse.ArgumentParser(description="DeepFloyd IF stage II (IF-II-L-shaped) UNet forward: Darkroom vs PyTorch CPU.")
    p.add_argument("mode", nargs="?", default="compare", choices=["compare", "make", "torch"],
                   help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, nargs="+", default=[2], help="batch sizes (2: one CFG step of one image)")
    p.add_argument("--size", type=int, default=SAMPLE_SIZE,
                   help="PyTorch's input size (Darkroom always uses the config's 256): only for --torch-only experiments")
    p.add_argument("--runs", type=int, default=1, help="PyTorch: timed forwards per batch size (median reported)")
    p.add_argument("--warmup", type=int, default=0, help="PyTorch: untimed forwards before timing")
    p.add_argument("--seconds", type=float, default=0,
                   help="Darkroom bench --seconds (it always does one warm-up and at least two timed forwards)")
    p.add_argument("--check-size", type=int, default=64, help="size of the batch-1 parity check input (multiple of 16)")
    p.add_argument("--fp32", action="store_true", help="save and load fp32 weights instead of the fp16 variant")
    p.add_argument("--profile", action="store_true", help="print Darkroom's time per layer type")
    side = p.add_mutually_exclusive_group()
    side.add_argument("--darkroom-only", action="store_true", help="run only Darkroom (parity check and bench)")
    side.add_argument("--torch-only", action="store_true", help="run only PyTorch")
    p.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "darkroom-if2-bench"))
    # Debug: a smaller model of the same layout.
    p.add_argument("--widths", type=int, nargs="+", default=IF2_L_WIDTHS, help=argparse.SUPPRESS)
    p.add_argument("--layers", type=int, nargs="+", default=IF2_L_LAYERS, help=argparse.SUPPRESS)
    p.add_argument("--cross", type=int, default=IF2_L_CROSS, help=argparse.SUPPRESS)
    p.add_argument("--head-dim", type=int, default=64, help=argparse.SUPPRESS)
    args = p.parse_args()
    if len(args.layers) != len(args.widths):
        p.error("--layers needs one value per --widths entry")
    if args.check_size % 16 or args.size % 16:
        p.error("--size and --check-size must be multiples of 16")
    if any(w % 32 for w in args.widths) or args.cross % 32:
        p.error("--widths and --cross must be multiples of 32 (norm groups)")
    if any(w % args.head_dim for w in args.widths[-2:]):
        p.error(f"the last two --widths (the attention levels) must be multiples of the head size {args.head_dim}")
    if args.mode == "make":
        return make_model(args)
    if args.mode == "torch":
        return time_torch(args)

    name = "w" + "-".join(map(str, args.widths)) + "_l" + "-".join(map(str, args.layers)) + f"_x{args.cross}"
    name += f"_h{args.head_dim}" if args.head_dim != 64 else ""
    args.cache = os.path.join(args.cache, name + ("-fp32" if args.fp32 else "-fp16"))
    darkroom = os.path.join(ROOT, ".build", "release", "darkroom")
    if not args.torch_only and not os.path.exists(darkroom):
        sys.exit("build first: swift build -c release (or run with --torch-only)")
    print(child(args, "make"), end="", flush=True)

    io_path = os.path.join(args.cache, "io.safetensors")
    parity, ours, ours_error = None, None, None
    if not args.torch_only:
        out = subprocess.run([darkroom, "forward", "--model", args.cache, "--input", io_path,
                              "--output", os.path.join(args.cache, "darkroom-out.safetensors"), "--expect", io_path,
                              "--tolerance", "1e-3", "--threads", str(args.threads)], capture_output=True, text=True)
        last = (out.stdout.strip().splitlines() or out.stderr.strip().splitlines() or ["(no output)"])[-1]
        parity = ("" if out.returncode == 0 else f"FAILED (exit {out.returncode}): ") + last
        print(f"parity with PyTorch on the same weights and input (batch 1, {args.check_size}x{args.check_size}): {parity}",
              flush=True)

    theirs = None
    if not args.darkroom_only:
        theirs = last_json(child(args, "torch"))

    if not args.torch_only:
        cmd = [darkroom, "bench", "--model", args.cache, "--batch", *map(str, args.batch), "--seconds", str(args.seconds),
               "--threads", str(args.threads), "--json"] + (["--profile"] if args.profile else [])
        run = subprocess.run(cmd, capture_output=True, text=True)
        try:
            if run.returncode != 0:
                raise ValueError(f"exit {run.returncode}")
            ours = last_json(run.stdout)
        except ValueError as error:
            ours_error = f"darkroom bench failed ({error}): " + (run.stderr.strip() or run.stdout.strip() or "(no output)")

    report(args, theirs, ours, ours_error, parity)
    if ours_error or (parity is not None and parity.startswith("FAILED")):
        sys.exit(1)


def report(args, theirs, ours, ours_error, parity):
    """Prints the comparison; `theirs` (PyTorch) and `ours` (Darkroom's bench JSON) may each be None."""
    weights = "fp32" if args.fp32 else "fp16"
    size = ours.get("sample_size", SAMPLE_SIZE) if ours else SAMPLE_SIZE
    sizes = ([f"PyTorch at {args.size}x{args.size}"] if theirs else []) + ([f"Darkroom at {size}x{size}"] if ours else [])
    print(f"\nIF-II-shaped UNet {args.widths}, layers {args.layers}, cross {args.cross} ({weights} weights), "
          f"{args.threads} threads" + "".join("; " + s for s in sizes))
    if theirs and ours and args.size != size:
        print(f"WARNING: the sizes differ ({args.size} vs {size}): the ratios below compare different work")
    if theirs:
        print(f"PyTorch: loaded in {theirs['load_s']:.2f} s")
    if ours:
        print(f"Darkroom: loaded in {ours['load_s']:.2f} s")
    if ours_error:
        print(ours_error)

    rows = {row["batch"]: row for row in ours["forward"]} if ours else {}
    if not (theirs or ours):
        return
    print(f"{'batch':>5} {'PyTorch s':>10} {'Darkroom s':>11} {'ratio':>7} {'(<= 0.60)':>9}   "
          f"{STEPS} steps: {'PyTorch':>9} {'Darkroom':>9}")
    for b in args.batch:
        t = theirs["times"][str(b)]["median_s"] if theirs else None
        d = rows[b]["median_s"] if b in rows else None
        both = t is not None and d is not None
        print(f"{b:>5} {(f'{t:.3f}' if t is not None else '-'):>10} {(f'{d:.3f}' if d is not None else '-'):>11} "
              f"{(f'{d / t:.2f}x' if both else '-'):>7} {(('ok' if d / t <= 0.6 else 'MISS') if both else ''):>9}   "
              f"{'':>9}{(f'{STEPS * t:.1f} s' if t is not None else '-'):>9} {(f'{STEPS * d:.1f} s' if d is not None else '-'):>9}")
        counts = []
        if theirs:
            counts.append(f"PyTorch {theirs['times'][str(b)]['runs']} run(s), min {theirs['times'][str(b)]['min_s']:.3f} s")
        if b in rows:
            counts.append(f"Darkroom {rows[b]['runs']} run(s), min {rows[b]['min_s']:.3f} s")
        if counts:
            print("        " + "; ".join(counts))
        for item in rows.get(b, {}).get("profile", []):
            print(f"        {item['kind']:<42} {item['seconds_per_forward']:7.3f} s "
                  f"{100 * item['seconds_per_forward'] / d:5.1f}%")
    if ours and "upscale_20_steps_s" in ours:
        print(f"Darkroom's own 20-step upscale figure (upscale_20_steps_s): {ours['upscale_20_steps_s']:.1f} s")
    tp = theirs["peak_rss_bytes"] if theirs else None
    dp = ours["peak_rss_bytes"] if ours else None
    parts = []
    if tp:
        parts.append(f"PyTorch {gb(tp)}")
    if dp:
        parts.append(f"Darkroom {gb(dp)}")
    line = "peak RSS: " + ", ".join(parts)
    if tp and dp:
        line += f", ratio {dp / tp:.2f}x (target <= 0.50: {'ok' if dp / tp <= 0.5 else 'MISS'})"
    if parts:
        print(line)
    if theirs:
        fp = theirs.get("forward_peak_rss_bytes")
        extra = f"PyTorch RSS after loading {gb(theirs['rss_after_load_bytes'])}" if theirs.get("rss_after_load_bytes") else ""
        if fp:
            extra += f", peak during the forwards alone {gb(fp)}" + (f" (Darkroom / that: {dp / fp:.2f}x)" if dp else "")
        if extra:
            print("    " + extra + " [its whole-process peak includes from_pretrained's random init without accelerate]")
    if ours and ours.get("rss_after_load_bytes"):
        print(f"    Darkroom RSS after loading {gb(ours['rss_after_load_bytes'])}")
    if parity is not None:
        print(f"parity (batch 1, {args.check_size}x{args.check_size}): {parity}")


if __name__ == "__main__":
    main()
