"""Training checkpoints of an RQ-VAE: everything a resumed run needs to continue exactly.

One folder per job under the checkpoint folder (`{family}-{bits}-{part}-seed{seed}`) holds
`checkpoint.safetensors` (the model's state, the optimiser's moment tensors, torch's CPU
random state) and `checkpoint.json` (the step reached, the seconds the optimisation has taken
so far, the data sampler's numpy random state, and the job's key: its settings, model and data, so a checkpoint of another job or
other settings is never resumed from). Nothing is pickled. Both files are written to
temporary names and renamed, the JSON last, so an interrupted save leaves the previous
checkpoint usable.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ...errors import CorruptFileError

_TENSORS = "checkpoint.safetensors"
_STATE = "checkpoint.json"


class Checkpointer:
    """Saves and restores one job's training state. folder: its folder; every: steps between
    saves; key: what must match for a checkpoint to be resumed from (a JSON-able dict)."""

    def __init__(self, folder: Path, every: int, key: dict):
        self.folder, self.every, self.key = Path(folder), int(every), key

    @classmethod
    def of(cls, job, settings) -> "Checkpointer | None":
        """The job's checkpointer; None when it has no checkpoint folder."""
        if job.checkpoint_dir is None:
            return None
        name = f"{job.family}-{job.bits}-{job.part}-seed{job.seed}"
        key = {"family": job.family, "bits": job.bits, "part": job.part, "seed": job.seed,
               "entropy_guided": job.entropy_guided, "settings": asdict(settings),
               "train_frames": job.data.num_frames, "train_takes": list(job.data.names)}
        return cls(Path(job.checkpoint_dir) / name, max(1, job.checkpoint_every), key)

    def save(self, model, opt, rng: np.random.Generator, step: int, seconds: float = 0.0) -> None:
        """Write the state after `step` steps, which took `seconds` in all (over every resumed run)."""
        import torch
        from safetensors.numpy import save_file

        self.folder.mkdir(parents=True, exist_ok=True)
        tensors = {f"model.{k}": v.detach().cpu().numpy() for k, v in model.state_dict().items()}
        state = opt.state_dict()["state"]
        for index, entry in state.items():
            for name, value in entry.items():
                tensors[f"opt.{index}.{name}"] = np.atleast_1d(value.detach().cpu().numpy())
        tensors["torch_rng"] = torch.get_rng_state().numpy()
        tmp = self.folder / (_TENSORS + ".tmp")
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(tmp))
        os.replace(tmp, self.folder / _TENSORS)
        meta = {"step": int(step), "seconds": float(seconds), "key": self.key, "numpy_rng": rng.bit_generator.state,
                "opt_entries": {str(i): sorted(e) for i, e in state.items()}}
        tmp = self.folder / (_STATE + ".tmp")
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, self.folder / _STATE)

    def clear(self) -> None:
        """Remove the job's checkpoint files (training finished)."""
        for name in (_STATE, _TENSORS):
            (self.folder / name).unlink(missing_ok=True)
        if self.folder.is_dir() and not any(self.folder.iterdir()):
            self.folder.rmdir()

    def restore(self, model, opt, rng: np.random.Generator) -> tuple[int, float]:
        """Load the saved state into model, opt and rng; (the step to continue from, the seconds
        the steps before it took); (0, 0.0) when there is no checkpoint, or one of another job:
        then nothing is loaded.
        CorruptFileError for a checkpoint that cannot be read."""
        import torch
        from safetensors.numpy import load_file

        meta_path, tensor_path = self.folder / _STATE, self.folder / _TENSORS
        if not meta_path.is_file():
            return 0, 0.0
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta["key"] != json.loads(json.dumps(self.key)):
                return 0, 0.0
            tensors = load_file(str(tensor_path))
        except Exception as exc:  # JSON, safetensors and missing-file errors alike
            raise CorruptFileError(meta_path, f"is not a readable training checkpoint ({exc}); delete the folder "
                                   f"{self.folder} to start again") from None
        device = next(model.parameters()).device
        model.load_state_dict({k[len("model."):]: torch.from_numpy(v).to(device)
                               for k, v in tensors.items() if k.startswith("model.")}, strict=True)
        state = {}
        for index, names in meta["opt_entries"].items():
            entry = {}
            for name in names:
                value = torch.from_numpy(tensors[f"opt.{index}.{name}"])
                entry[name] = value.reshape(()) if name == "step" else value.to(device)
            state[int(index)] = entry
        opt.load_state_dict({"state": state, "param_groups": opt.state_dict()["param_groups"]})
        torch.set_rng_state(torch.from_numpy(tensors["torch_rng"]))
        rng.bit_generator.state = meta["numpy_rng"]
        # Checkpoints written before the time was kept count it as 0.
        return int(meta["step"]), float(meta.get("seconds", 0.0))
