"""What training prints: labelled progress bars and one line of plain numbers per log event.

transformers' ProgressCallback draws bars counting `it` with no label and prints each log event as a
dict of quoted strings (`{'loss': '1.234', ...}`); `LogLines` replaces it on a trainer.
"""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm
from transformers import ProgressCallback
from transformers.trainer_utils import has_length


def format_log(step: int, max_steps: int, logs: dict[str, Any]) -> str:
    """One line for a log event: `step 10/88  loss 1.234  grad_norm 0.5  ...`, numbers unquoted."""
    fields = [f"step {step}/{max_steps}"]
    for key, value in logs.items():
        if key == "total_flos":
            continue
        fields.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    return "  ".join(fields)


class LogLines(ProgressCallback):
    """transformers' progress bars labelled (`train` counts steps, `eval` batches), and `format_log` lines."""

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            self.training_bar = tqdm(total=state.max_steps, desc="train", unit="step", dynamic_ncols=True)
        self.current_step = 0

    def on_prediction_step(self, args: Any, state: Any, control: Any, eval_dataloader: Any = None, **kwargs: Any) -> None:
        if state.is_world_process_zero and self.prediction_bar is None and has_length(eval_dataloader):
            self.prediction_bar = tqdm(total=len(eval_dataloader), desc="eval", unit="batch", leave=self.training_bar is None,
                                       dynamic_ncols=True)
        super().on_prediction_step(args, state, control, eval_dataloader=eval_dataloader, **kwargs)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if state.is_world_process_zero and logs:
            tqdm.write(format_log(state.global_step, state.max_steps, logs))


def use_log_lines(trainer: Any) -> Any:
    """Put `LogLines` in place of transformers' default progress callback on `trainer`; returns it."""
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(LogLines())
    return trainer
