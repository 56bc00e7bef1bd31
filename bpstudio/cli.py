"""The `bpstudio` command: open the studio, or train, analyze, check and export projects
headless. Errors are one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from dataclasses import replace
from pathlib import Path

import bpstudio
from bpstudio.export import TARGETS
from bpstudio.viewmodel.layout import SCREENSHOT_SIZE


class CliError(Exception):
    """An error to print as one line, with the exit code to leave with."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bpstudio",
        description="Backprop Studio: build neural networks and watch backpropagation train "
        "them. With no command, opens the studio (on PROJECT, or the first lesson).",
    )
    p.add_argument("--version", action="version", version=f"bpstudio {bpstudio.__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a project headless")
    t.add_argument("project", metavar="PROJECT")
    t.add_argument("--epochs", type=int, help="epochs to train (default: the project's)")
    t.add_argument("--seed", type=int, help="start again from weights drawn with this seed")
    t.add_argument("--out", metavar="PROJECT", help="save the trained project here")
    t.add_argument("--metrics", metavar="FILE.csv", help="write per-epoch metrics here")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument(
        "--engine",
        choices=("auto", "numpy", "compiled"),
        default="auto",
        help="the training engine (auto: compiled for small dense networks)",
    )

    a = sub.add_parser("analyze", help="per-layer table: output shape, parameters, warnings")
    a.add_argument("project", metavar="PROJECT")

    g = sub.add_parser("gradcheck", help="finite-difference check of the gradients")
    g.add_argument("project", metavar="PROJECT")
    g.add_argument("--tol", type=float, default=1e-6, help="largest relative error allowed")
    g.add_argument(
        "--entries", type=int, default=200, help="entries checked per parameter array (default 200)"
    )
    g.add_argument("--batch", type=int, default=16, help="training samples used (default 16)")

    s = sub.add_parser("screenshot", help="render the studio window (or a panel) to PNG")
    s.add_argument("project", metavar="PROJECT")
    s.add_argument("--out", required=True, metavar="FILE.png")
    s.add_argument("--epochs", type=int, default=0)
    s.add_argument("--size", default="{}x{}".format(*SCREENSHOT_SIZE), metavar="WxH")
    s.add_argument("--panel", metavar="NAME", help="only this panel")
    s.add_argument(
        "--fix",
        type=int,
        metavar="N",
        help="for a lesson: train it as given, then again with its fix N, and compare the runs",
    )

    sub.add_parser("lessons", help="list the built-in lessons")
    sub.add_parser("datasets", help="list the data sets: task, inputs, classes")

    n = sub.add_parser("new", help="create a project from options")
    n.add_argument("out", metavar="OUT.bpstudio")
    n.add_argument("--data", metavar="NAME", help="a data set (bpstudio datasets); circle")
    n.add_argument("--hidden", metavar="8,8", help="hidden layer sizes, comma-separated; 4,2")
    n.add_argument("--classes", type=int, metavar="K", help="classes of blobs or arms (2-6)")
    n.add_argument("--activation", help="the hidden layers' activation; tanh")
    n.add_argument(
        "--from-playground",
        metavar="URL",
        help="a TensorFlow Playground link: its data, network and settings",
    )
    n.add_argument("--seed", type=int, help="the seed of the data and the weights; 0")

    e = sub.add_parser("export", help="export the network to another framework")
    e.add_argument("project", metavar="PROJECT")
    e.add_argument("--to", required=True, choices=tuple(TARGETS))
    e.add_argument("--out", required=True, metavar="PATH")
    return p


def main(argv=None) -> int:
    args_list = sys.argv[1:] if argv is None else list(argv)
    commands = {
        "train": cmd_train,
        "analyze": cmd_analyze,
        "gradcheck": cmd_gradcheck,
        "screenshot": cmd_screenshot,
        "lessons": cmd_lessons,
        "datasets": cmd_datasets,
        "new": cmd_new,
        "export": cmd_export,
    }
    if not args_list or (args_list[0] not in commands and not args_list[0].startswith("-")):
        return _open_studio(args_list)  # a project file (or nothing): the studio
    args = _parser().parse_args(args_list)
    try:
        return commands[args.command](args)
    except CliError as exc:
        print(f"bpstudio: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("bpstudio: interrupted", file=sys.stderr)
        return 130


def _load(path):
    from bpstudio.project import ProjectError, load_project

    try:
        return load_project(path)
    except ProjectError as exc:
        raise CliError(str(exc)) from None


def _open_studio(argv) -> int:
    if len(argv) > 1:
        print(
            f"bpstudio: error: expected at most one PROJECT, got {len(argv)} arguments "
            f"(see bpstudio --help)",
            file=sys.stderr,
        )
        return 2
    try:
        from bpstudio.qt.app import run_studio
    except ImportError as exc:
        print(f"bpstudio: error: the studio window cannot start: {exc}", file=sys.stderr)
        return 1
    return run_studio(argv[0] if argv else None)


def cmd_train(args) -> int:
    from tqdm import tqdm

    from bpstudio.core.callbacks import Callback
    from bpstudio.project import ProjectError, save_project

    project = _load(args.project)
    if args.seed is not None:
        if args.seed < 0:
            raise CliError(f"--seed must be >= 0; got {args.seed}")
        project.seed, project.weights, project.steps, project.epoch = args.seed, None, 0, 0
        project.progress = project.progress_arrays = None
    epochs = project.epochs if args.epochs is None else args.epochs
    if epochs < 0:
        raise CliError(f"--epochs must be >= 0; got {epochs}")
    try:
        trainer = project.make_trainer(engine=args.engine)
    except ProjectError as exc:
        raise CliError(str(exc)) from None
    if project.note:
        print(f"bpstudio: note: {project.note}", file=sys.stderr)
    metrics_file = writer = None
    if args.metrics:
        try:
            metrics_file = open(args.metrics, "w", newline="", encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {args.metrics}: {exc.strerror or exc}") from None
        writer = csv.writer(metrics_file)
        # Per-epoch metrics, then the measurements of the epoch's last step.
        writer.writerow(
            [
                "epoch",
                "step",
                *trainer.history.epochs.columns,
                *(f"last_step_{c}" for c in trainer.history.steps.columns),
            ]
        )
    bar = tqdm(
        total=epochs, unit="epoch", file=sys.stderr, disable=args.quiet or None, dynamic_ncols=True
    )

    class Report(Callback):
        chunkable = True  # it reads epochs only: the trainer may train in chunks

        def on_epoch_end(self, epoch, logs):
            bar.update(1)
            shown = {"loss": logs["train_loss"], "test": logs["test_loss"]}
            if not math.isnan(logs["test_accuracy"]):
                shown["test acc"] = logs["test_accuracy"]
            bar.set_postfix({k: f"{v:.4g}" for k, v in shown.items()}, refresh=False)
            if writer:
                last = trainer.history.steps.last() or {}
                writer.writerow(
                    [
                        epoch,
                        trainer.net.steps,
                        *logs.values(),
                        *(last.get(c, "") for c in trainer.history.steps.columns),
                    ]
                )

    trainer.callbacks.callbacks.append(Report())
    try:
        trainer.fit(epochs=epochs)
    finally:
        bar.close()
        if metrics_file:
            metrics_file.close()
    project.capture(trainer)
    if args.out:
        try:
            save_project(project, args.out)
        except ProjectError as exc:
            raise CliError(str(exc)) from None
    final = trainer.history.epochs.last()
    if final:
        parts = [
            f"epoch {trainer.epoch}",
            f"step {trainer.net.steps}",
            f"train loss {final['train_loss']:.4g}",
            f"test loss {final['test_loss']:.4g}",
        ]
        if not math.isnan(final["test_accuracy"]):
            parts.append(f"test accuracy {final['test_accuracy']:.4f}")
        reason = trainer.why_numpy()
        parts.append("engine compiled" if reason is None else f"engine NumPy ({reason})")
        print(", ".join(parts))
    if trainer.failure:
        raise CliError(
            f"training stopped: {trainer.failure['message']}. Try a lower learning "
            f"rate, gradient clipping or batch normalization."
        )
    return 0


def cmd_analyze(args) -> int:
    from bpstudio.analysis.rules import analyze

    net = _load(args.project).build_network()
    rows, warnings = analyze(net)
    print(f"{'layer':<24}{'type':<20}{'output shape':<16}{'parameters':>12}  activation")
    for row in rows:
        print(
            f"{row['name']:<24}{row['class']:<20}{row['output_shape']!s:<16}"
            f"{row['parameters']:>12,}  {row['activation'] or ''}"
        )
    print(f"{'total':<60}{net.count_params():>12,}")
    if warnings:
        print("\nwarnings:")
        for w in warnings:
            print(f"- {w.layer + ': ' if w.layer else ''}{w.message}")
    else:
        print("\nno warnings")
    return 0


def cmd_gradcheck(args) -> int:
    import numpy as np

    from bpstudio.core import gradcheck

    project = _load(args.project)
    dataset = project.build_dataset()
    net = project.build_network(dataset)
    if args.batch < 1 or args.entries < 1 or not args.tol > 0:
        raise CliError("--batch and --entries must be >= 1 and --tol > 0")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(dataset.X_train), min(args.batch, len(dataset.X_train)), replace=False)
    X, y = dataset.X_train[idx], dataset.y_train[idx]
    worst = 0.0
    print(f"{'layer':<24}{'training mode':>15}{'inference mode':>16}")
    results = [
        gradcheck(net, X, y, training=mode, max_entries=args.entries) for mode in (True, False)
    ]
    for layer in results[0].layer_errors:
        errs = [r.layer_errors[layer] for r in results]
        worst = max(worst, *errs)
        print(f"{layer:<24}{errs[0]:>15.2e}{errs[1]:>16.2e}")
    verdict = "passed" if worst <= args.tol else "FAILED"
    print(
        f"largest relative error {worst:.2e}: {verdict} (tolerance {args.tol:g}, "
        f"{results[0].checked_entries} entries per mode)"
    )
    return 0 if worst <= args.tol else 1


def _size(text):
    m = re.fullmatch(r"(\d{3,5})x(\d{3,5})", text or "")
    if not m or not (320 <= int(m[1]) <= 8000 and 240 <= int(m[2]) <= 8000):
        raise CliError(f"--size must be WIDTHxHEIGHT between 320x240 and 8000x8000; got {text!r}")
    return int(m[1]), int(m[2])


def cmd_screenshot(args) -> int:
    try:
        from bpstudio.qt.screenshot import PANELS, render
    except ImportError as exc:
        raise CliError(f"screenshots need the studio window, which cannot start: {exc}") from None
    size = _size(args.size)
    if args.epochs < 0:
        raise CliError(f"--epochs must be >= 0; got {args.epochs}")
    if args.panel and args.panel not in PANELS:
        raise CliError(f"--panel must be one of {', '.join(PANELS)}; got {args.panel!r}")
    project = _load(args.project)
    fixes = (project.lesson or {}).get("fixes", [])
    if args.fix is not None and not 1 <= args.fix <= len(fixes):
        raise CliError(
            f"--fix must be one of the project's {len(fixes)} lesson fixes (1..{len(fixes)}); "
            f"got {args.fix}"
            if fixes
            else "--fix needs a lesson project; this project has no fixes"
        )
    try:
        out = render(project, args.out, args.epochs, size, args.panel, quiet=False, fix=args.fix)
    except OSError as exc:
        raise CliError(str(exc)) from None
    print(f"wrote {out}")
    return 0


def cmd_lessons(args) -> int:
    from bpstudio.lessons import lessons

    for lesson in lessons():
        print(f"{lesson.number:>2}. {lesson.title:<40} {lesson.path}")
    return 0


def cmd_datasets(args) -> int:
    """Every built-in data set as it is made by default: its task, inputs and classes."""
    from bpstudio.data.datasets import (
        DATASETS,
        MAX_CLASSES,
        MULTICLASS_2D,
        DatasetRecipe,
        make_dataset,
    )

    print(f"{'name':<14}{'task':<16}{'inputs':>7}{'classes':>9}  examples (default)")
    for name in DATASETS:
        if name == "csv":
            print(f"{name:<14}{'either':<16}{'any':>7}{'any':>9}  your file (File > Import)")
            continue
        d = make_dataset(DatasetRecipe(name))
        classes = str(d.n_classes) if d.task == "classification" else "-"
        if name in MULTICLASS_2D:
            classes = f"{d.n_classes} (2-{MAX_CLASSES})"
        size = len(d.X_train) + len(d.X_test)
        print(f"{name:<14}{d.task:<16}{d.X_train.shape[1]:>7}{classes:>9}  {size:,}")
    return 0


def cmd_new(args) -> int:
    """A project made from options: the data set, hidden layers and their activation; the
    output layer and the loss follow the data's task."""
    from bpstudio.core import activations
    from bpstudio.data.datasets import DATASETS, DatasetError, DatasetRecipe
    from bpstudio.project import SUFFIX, Project, ProjectError, save_project

    if args.from_playground is not None:
        return _new_from_playground(args)
    args.data = args.data or "circle"
    args.hidden = "4,2" if args.hidden is None else args.hidden
    args.activation = args.activation or "tanh"
    args.seed = 0 if args.seed is None else args.seed
    if args.data == "csv" or args.data not in DATASETS:
        names = ", ".join(d for d in DATASETS if d != "csv")
        raise CliError(f"--data must be one of {names}; got {args.data!r}")
    try:
        sizes = [int(v) for v in args.hidden.split(",") if v.strip()] if args.hidden else []
    except ValueError:
        raise CliError(f"--hidden takes whole numbers like 8,8; got {args.hidden!r}") from None
    if args.activation not in activations.HIDDEN_NAMES:
        choices = ", ".join(activations.HIDDEN_NAMES)
        raise CliError(f"--activation must be one of {choices}; got {args.activation!r}")
    out = Path(args.out if args.out.endswith(SUFFIX) else args.out + SUFFIX)
    hidden = [{"class": "Dense", "units": n, "activation": args.activation} for n in sizes]
    try:
        recipe = DatasetRecipe(args.data, seed=args.seed, classes=args.classes or 0)
        project = Project(
            name=out.stem,
            dataset=recipe,
            layers=[*hidden, {"class": "Dense", "units": 1}],
            seed=args.seed,
        )
        project.fit_output_to(project.build_dataset())
        project.build_network()  # sizes and names checked as the editor checks them
        save_project(project, out)
    except (DatasetError, ProjectError) as exc:
        raise CliError(str(exc)) from None
    layers = f"{len(sizes)} hidden layer{'s' * (len(sizes) != 1)}"
    print(f"wrote {out}: {args.data} data, {layers}, {project.loss} loss")
    return 0


def _new_from_playground(args) -> int:
    """A project from a Playground link; what the link held that could not be used is
    said on stderr, one line each."""
    from bpstudio.project import SUFFIX, ProjectError, save_project
    from bpstudio.project.playground import open_link

    given = [f"--{k}" for k in ("data", "hidden", "classes", "activation") if getattr(args, k)]
    if given:
        raise CliError(f"--from-playground sets the data and the network; leave out {given[0]}")
    out = Path(args.out if args.out.endswith(SUFFIX) else args.out + SUFFIX)
    try:
        opened = open_link(args.from_playground)
        opened.project.name = out.stem
        if args.seed is not None:  # the link's seed, unless told
            opened.project.seed = args.seed
            opened.project.dataset = replace(opened.project.dataset, seed=args.seed)
        save_project(opened.project, out)
    except ProjectError as exc:
        raise CliError(str(exc)) from None
    for note in opened.notes:
        print(f"bpstudio: note: {note}", file=sys.stderr)
    hidden = len(opened.project.layers) - 1
    layers = f"{hidden} hidden layer{'s' * (hidden != 1)}"
    print(f"wrote {out}: {opened.project.dataset.name} data, {layers}, from Playground")
    return 0


def cmd_export(args) -> int:
    from bpstudio.export import ExportError, export_project
    from bpstudio.project import ProjectError

    project = _load(args.project)
    try:
        exported = export_project(project, args.to, args.out)
    except (ExportError, ProjectError) as exc:
        raise CliError(str(exc)) from None
    for path in exported.files:
        print(f"wrote {path}")
    return 0
