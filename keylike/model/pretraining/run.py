"""Make the pretrained base model: render photos, phase 1 (tower), phase 2 (decoder), score, save with a card."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from keylike.data.rendering import RenderSettings
from keylike.io import atomic_directory, write_json
from keylike.model.card import files_table
from keylike.model.curves import Curve, draw_curves
from keylike.model.pretraining.config import PretrainConfig
from keylike.model.pretraining.decoder import load_tower, train_decoder
from keylike.model.pretraining.evaluation import evaluate_base
from keylike.model.pretraining.photos import render_photos
from keylike.model.pretraining.reader import build_reader, score_reader, train_reader
from keylike.model.tiny import build_tiny_model


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def pretrain_base(
    config: PretrainConfig, out_dir: Path | str, metrics_path: Path | str, curves_dir: Path | str,
    tower_checkpoint: Path | str | None = None,
) -> dict[str, Any]:
    """Run the whole recipe; write the model folder (bf16 weights, processor, README.md card), metrics and curves.

    `tower_checkpoint`: where phase 1's tower is saved; when the file exists, phase 1 is skipped and the
    tower loaded from it (a second GPU call resumes there).
    """
    import torch
    from safetensors.torch import load_file, save_file

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(config.seed)
    settings = RenderSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.render.items()})
    started = time.perf_counter()
    pretrain_mix = {code: config.keyway_mix[code] for code in config.pretrain_keyways}
    train = render_photos(config.train_photos, pretrain_mix, config.no_key_share, config.seed, settings, config.image_size)
    held_out_mix = dict(config.keyway_mix)  # evaluation: every keyway of the mix, held-out ones included
    evaluation = render_photos(config.eval_photos, held_out_mix, config.no_key_share, config.seed + 1, settings, config.image_size)
    render_s = time.perf_counter() - started
    _log(f"rendered {len(train.labels)} training and {len(evaluation.labels)} evaluation photos in {render_s:.0f} s")

    max_cuts = max(len(label.bitting) for label in train.labels)
    reader = build_reader(config.vision_architecture, len(config.classes), max_cuts)
    if tower_checkpoint and Path(tower_checkpoint).is_file():
        reader.load_state_dict(load_file(str(tower_checkpoint)))
        reader.to(device).eval()
        tower_curve = [{"step": 0, "loss": None, "s": 0.0}]
        _log(f"tower loaded from {tower_checkpoint}")
    else:
        tower_curve = train_reader(
            reader, train, config.classes, steps=config.tower_steps, batch_size=config.tower_batch_size,
            learning_rate=config.tower_learning_rate, weight_decay=config.weight_decay,
            warmup_ratio=config.warmup_ratio, seed=config.seed, device=device, log=_log,
        )
        if tower_checkpoint:
            save_file({k: v.to(torch.bfloat16).contiguous() for k, v in reader.state_dict().items()}, str(tower_checkpoint))
    tower_scores = score_reader(reader, evaluation, config.classes, device, scored=config.pretrain_keyways)
    _log(f"tower on held-out photos: {tower_scores}")

    model, processor = build_tiny_model(config.model_config())
    load_tower(model, reader.body.state_dict())
    decoder_curve = train_decoder(
        model, processor, train, image_size=config.image_size, steps=config.decoder_steps,
        batch_size=config.decoder_batch_size, learning_rate=config.decoder_learning_rate,
        weight_decay=config.weight_decay, warmup_ratio=config.warmup_ratio, seed=config.seed, device=device, log=_log,
    )
    scores = evaluate_base(model, processor, evaluation, config.held_out_keyways)
    samples = scores.pop("samples")
    _log(f"base on held-out photos: {json.dumps(scores)}")
    metrics = {
        "tower": tower_scores,
        **scores,
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_photos": len(train.labels),
        "eval_photos": len(evaluation.labels),
        "render_s": round(render_s, 1),
        "tower_train_s": tower_curve[-1]["s"],
        "decoder_train_s": decoder_curve[-1]["s"],
        "total_s": round(time.perf_counter() - started, 1),
    }
    model.to(torch.bfloat16)
    with atomic_directory(out_dir) as tmp:
        model.save_pretrained(tmp, max_shard_size="15MB")
        processor.save_pretrained(tmp)
        counts = Counter(label.keyway for label in train.labels)
        (tmp / "README.md").write_text(model_card(config, metrics, counts, samples, tmp))
    write_json(metrics_path, metrics)
    with atomic_directory(curves_dir) as tmp:
        write_json(tmp / "tower.json", tower_curve)
        write_json(tmp / "decoder.json", decoder_curve)
        plot_curves(tmp)
    return metrics


def plot_curves(curves_dir: Path | str) -> None:
    """Draw `curves.png` (loss against step, log scale, one panel per phase) from the folder's JSON curves."""
    curves_dir = Path(curves_dir)
    panels = []
    for name, title in (("tower", "phase 1: tower as a classifier"), ("decoder", "phase 2: projection + language model")):
        points = [p for p in json.loads((curves_dir / f"{name}.json").read_text()) if p["loss"] is not None]
        panels.append(Curve(title, "training loss", [(p["step"], p["loss"]) for p in points]))
    draw_curves(panels, curves_dir / "curves.png")


def model_card(config: PretrainConfig, metrics: dict[str, Any], counts: Counter, samples: list[dict], folder: Path) -> str:
    """The base model's README: data, keyspace side, recipe, scores, limits, sha256 of each weight file."""
    held = ", ".join(config.held_out_keyways)
    seen = metrics["pretrained_keyways"]
    rows = "\n".join(f"| {code} | {count} |" for code, count in sorted(counts.items()))
    held_rows = "\n".join(
        f"| {code} (never in pretraining) | {metrics[f'held_out_{code}']['keyway_accuracy']} | "
        f"{metrics[f'held_out_{code}']['per_cut_accuracy']} | {metrics[f'held_out_{code}']['exact_match']} |"
        for code in config.held_out_keyways
    )
    recipe = json.dumps({k: v for k, v in asdict(config).items()}, indent=2)
    shown = "\n".join(f"- truth `{s['truth']}` -> answer `{s['answer']!r}`" for s in samples)
    return f"""# keylike base: a small Gemma 3n that reads synthetic key photos

Built and trained by keylike from random weights (`dvc repro data/base/dvc.yaml` on a GPU; recipe in
`keylike/model/pretraining/`). A real `Gemma3nForConditionalGeneration` and `Gemma3nProcessor`:
language model {config.hidden_size} wide, {config.num_layers} layers; vision tower timm `{config.vision_architecture}`
(not Gemma 3n's MobileNetV5: see the repository README, "The base model"), {config.image_size} px,
{(config.image_size // 32) ** 2} image tokens; {metrics['parameters']:,} parameters, stored in bfloat16.

## Data
{metrics['train_photos']:,} photos rendered by `keylike.data.synthesis` (default render settings, JPEG as ingest
writes them), seed {config.seed}, drawn only from the **base side** of the keyspace (`keylike.keys.keyspace`):
no key the default pipeline can synthesise is in them. Held out of pretraining entirely: **{held}**.
Photos with no key (backgrounds, coins, pens, rings) answer `NO KEY`.

| keyway | training photos |
|---|---|
{rows}

## Recipe
Phase 1: the tower alone, as a classifier (keyway + one depth head per cut), {config.tower_steps} steps of
{config.tower_batch_size}. Phase 2: tower frozen; projection and language model learn the answer text,
{config.decoder_steps} steps of {config.decoder_batch_size}.

```json
{recipe}
```

## Scores on {metrics['eval_photos']:,} held-out photos (seed {config.seed + 1}, base side)
| keyways | keyway | per cut | within one step | whole key | format |
|---|---|---|---|---|---|
| pretrained | {seen['keyway_accuracy']} | {seen['per_cut_accuracy']} | {seen['within_one_step']} | {seen['exact_match']} | {seen['format_compliance']} |

| held-out keyway | keyway | per cut | whole key |
|---|---|---|---|
{held_rows}

No-key photos answered `NO KEY`: {metrics['no_key_recognised']}; key photos answered `NO KEY`: {metrics['key_called_no_key']}.
The tower alone (phase 1 classifier): {metrics['tower']}.

Sample answers:
{shown}

## Limits
Synthetic photos only (keylike's renderer); no real photo was ever seen. The held-out keyway is unknown
to this base: the pipeline's fine-tuning teaches it. Not for any use other than keylike's fine-tuning.

## Files
{files_table(folder)}
"""
