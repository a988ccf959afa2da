"""Run a trainer (under torchrun) and write, per rank, the sum of every model's parameters when the run ends.

    python -m torch.distributed.run --nproc_per_node 2 ddp_weights_probe.py TRAINER.py OUT_PREFIX [trainer args...]

writes ``OUT_PREFIX.rank<r>.json``; ranks whose gradients were averaged the same way hold bitwise-equal weights.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path


def main() -> int:
    script, prefix, *argv = sys.argv[1:]
    sys.path.insert(0, str(Path(script).resolve().parent.parent))
    spec = importlib.util.spec_from_file_location("trainer_under_probe", script)
    trainer = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = trainer  # dataclasses look their module up while the class is made
    spec.loader.exec_module(trainer)
    original_fit = trainer.fit

    def fit(args, runtime, parts, *rest, **kwargs):
        close = runtime.close

        def record_then_close() -> None:
            sums = {
                name: float(sum(p.detach().double().sum() for p in module.parameters()))
                for name, module in parts.models.items()
            }
            Path(f"{prefix}.rank{runtime.rank}.json").write_text(json.dumps(sums))
            close()

        runtime.close = record_then_close
        return original_fit(args, runtime, parts, *rest, **kwargs)

    trainer.fit = fit
    return trainer.main(argv)


if __name__ == "__main__":
    sys.exit(main())
