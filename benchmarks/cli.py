"""`mnist-edge bench`: thin CLI over benchmarks.suite (which runs bench, pipeline_bench, ...) and benchmarks.report."""
from __future__ import annotations

from mnist_edge.cli import positive

EXIT_PARTIAL = 3  # the report was written, but a variant, the Keras reference, the pipeline or reader speed failed
DEFAULT_OUT = "mnist-edge-bench"  # ./mnist-edge-bench/<timestamp>/: never the committed benchmarks/results
MAKE_MODELS = ("MNIST_DIR=/path/to/mnist scripts/make_models.sh (in the repository; needs pip install '.[train]'; "
               "about 15 minutes on 2 cores)")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "bench", help="benchmark the TFLite variants, Keras and the pipeline side by side",
        description="Benchmark every model variant in one run: accuracy and agreement with its float32 twin, "
        "size, init and first inference, per-image latency (p50/p90/p99), batched throughput per batch size "
        "and thread count, peak RSS of a process running only that model, the same model in Keras, and the "
        "edge pipeline on a camera-like clip. Writes DIR/report.md, DIR/results.json and PNG plots; prints "
        "a table (or, with --json, results.json) on stdout and progress on stderr.",
        epilog=f"exit status: 0 when everything was measured; {EXIT_PARTIAL} when the report was written but a "
        "variant (e.g. a corrupt .tflite), the Keras reference, the pipeline or the reader-speed section failed "
        "(each is a row with its error); 1 when nothing could be run (no models, no MNIST); 2 for a mistake in the command line.")
    p.add_argument("--models", nargs="+", metavar="M", default=None,
                   help="the .tflite files to compare (default: the shipped models plus ./models/*.tflite, "
                   "which scripts/make_models.sh builds)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help=f"folder for report.md, results.json, plots and the clip (default: "
                   f"./{DEFAULT_OUT}/<date-time>/)")
    p.add_argument("--threads", nargs="+", type=positive(int), default=None, metavar="N",
                   help="interpreter thread counts for the throughput table (default: 1 2 4; quick: 1 2)")
    p.add_argument("--batch-sizes", nargs="+", type=positive(int), default=None, metavar="N",
                   help="batch sizes for the throughput table (default: 1 8 32 64; quick: 1 32)")
    p.add_argument("--runs", type=positive(int), default=None,
                   help="timed single-image runs per variant (default: 1000; quick: 200)")
    p.add_argument("--warmup", type=positive(int), default=None,
                   help="untimed runs before them (default: 50; quick: 20)")
    p.add_argument("--quick", action="store_true",
                   help="under a minute: 1000 test images (without local MNIST: the 300 shipped with mnist-edge), "
                   "fewer runs, batch sizes, threads and pipeline frames (the report says which figures are quick)")
    p.add_argument("--data-dir", default=None,
                   help="MNIST folder (default: $MNIST_DIR, then Keras' cache; --quick falls back to the "
                   "300 test digits shipped with mnist-edge)")
    p.add_argument("--json", action="store_true", help="print results.json on stdout instead of the table")
    p.add_argument("--backend", choices=("auto", "litert", "tflite-runtime", "tensorflow"), default="auto",
                   help="TFLite interpreter (default: auto = ai-edge-litert, then tflite-runtime)")
    p.add_argument("--no-keras", dest="keras", action="store_false",
                   help="skip the Keras reference (it needs TensorFlow and takes seconds to import)")
    p.add_argument("--no-pipeline", dest="pipeline", action="store_false", help="skip the pipeline benchmark")
    p.add_argument("--pipeline-model", default=None, metavar="M",
                   help="model for the pipeline benchmark (default: cnn_int8 if benchmarked, else an int8 model)")
    p.add_argument("--pipeline-frames", type=positive(int), default=None, metavar="N",
                   help="frames in the generated camera-like clip (default: 100; quick: 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated clip (default: 0)")
    p.add_argument("--no-reader-speed", dest="reader_speed", action="store_false",
                   help="skip DigitReader vs the classical baseline reader (benchmarks/reader_speed.py)")
    p.set_defaults(run=run)


def run(args) -> int:
    import sys
    import time
    from dataclasses import replace
    from pathlib import Path

    from mnist_edge.benchmarks.bench import QUICK, BenchConfig, default_models
    from mnist_edge.benchmarks.common import progress
    from mnist_edge.benchmarks.report import results_json, summary_text, write_report
    from mnist_edge.benchmarks.suite import PipelineOptions, run_benchmarks

    config = replace(BenchConfig(), **QUICK, quick=True) if args.quick else BenchConfig()
    overrides = {"threads": tuple(args.threads) if args.threads else None,
                 "batch_sizes": tuple(sorted(set(args.batch_sizes))) if args.batch_sizes else None,
                 "runs": args.runs, "warmup": args.warmup}
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None},
                     keras=args.keras, backend=args.backend)
    if args.models:
        models = [Path(m) for m in args.models]
        missing = [str(m) for m in models if not m.is_file()]
        if missing:  # fail now, not after minutes of the other variants
            hint = (f"; ./models is built by {MAKE_MODELS}, or run `mnist-edge bench` without --models for the "
                    "shipped models" if any("models" in Path(m).parts or "*" in m for m in missing) else "")
            raise FileNotFoundError(f"no such model: {', '.join(missing)}{hint}")
    else:
        models = default_models()
        if not args.quick and not any(m.parent.name == "models" for m in models):
            progress(f"./models has no variants, so this run compares only the {len(models)} shipped models "
                     f"(no float16/dynamic, no Keras reference); build them with {MAKE_MODELS}")
    out = Path(args.out) if args.out else Path(DEFAULT_OUT) / time.strftime("%Y%m%d-%H%M%S")
    pipeline = PipelineOptions(enabled=args.pipeline,
                               model=Path(args.pipeline_model) if args.pipeline_model else None,
                               frames=args.pipeline_frames or (10 if args.quick else 100), seed=args.seed)
    results = run_benchmarks(models, config, out, args.data_dir, ["mnist-edge", *sys.argv[1:]], pipeline,
                             reader_speed=args.reader_speed)
    paths = write_report(results, out)
    print(results_json(results) if args.json else summary_text(results))
    print(f"bench: wrote {paths['report']}, {paths['results']} and plots in {results['duration_s']:.1f} s",
          file=sys.stderr)
    failed = [r["variant"] for r in results["models"] if r.get("status") != "ok"]
    failed += [k for k, v in results["keras"].items() if "error" in v]
    if results["pipeline"] is not None and (results["pipeline"].get("status") != "ok"
                                            or "cold_start_error" in results["pipeline"]):
        failed.append("pipeline")
    if "error" in (results["reader_speed"] or {}):
        failed.append("reader speed")
    if failed:
        print(f"bench: failed: {', '.join(failed)} (rows with their errors in the report)", file=sys.stderr)
        return EXIT_PARTIAL
    return 0
