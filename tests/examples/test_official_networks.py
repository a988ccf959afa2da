"""The real-data presets build exactly the official networks (HelenMao/MSGAN at e386c25), and official checkpoints load.

``data/official_state_dicts.json`` lists, for every network of the official code built with its default options,
its state-dict keys with their shapes and its parameter count, as the official code produced them (facts, written by
instantiating that code; no official code is in this repository). The parameter counts below are the issue's table.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from examples import dcgan_cifar10, drit_yosemite, pix2pix_facades, stackgan_birds
from examples.common.official_checkpoints import load_official, load_official_state_dict, official_key

OFFICIAL = json.loads((Path(__file__).parent / "data" / "official_state_dicts.json").read_text())
DRIT_NETS = ("disA", "disA2", "disB", "disB2", "disContent", "enc_c", "enc_a", "gen")

# (trainer, argv, our network, official network, official parameter count)
CASES = [
    (dcgan_cifar10, ["--dataset", "cifar10"], "G", "dcgan_G", 3_531_395),
    (dcgan_cifar10, ["--dataset", "cifar10"], "D", "dcgan_D", 2_658_689),
    (pix2pix_facades, ["--dataset", "facades"], "G", "pix2pix_G", 54_794_627),
    (pix2pix_facades, ["--dataset", "maps"], "D", "pix2pix_D", 3_463_586),
    *[
        (drit_yosemite, ["--dataset", "yosemite"], name, f"drit_yosemite_{name}", count)
        for name, count in zip(DRIT_NETS, (8_271_171,) * 4 + (10_683_649, 9_018_112, 2_688_160, 9_564_710), strict=True)
    ],
    *[
        (drit_yosemite, ["--dataset", "cat2dog"], name, f"drit_cat2dog_{name}", count)
        for name, count in zip(
            DRIT_NETS, (8_271_171,) * 4 + (10_683_649, 9_018_112, 5_529_872, 17_146_374), strict=True
        )
    ],
    (stackgan_birds, ["--dataset", "cub"], "G", "stackgan_G", 21_239_696),
    (stackgan_birds, ["--dataset", "cub"], "D0", "stackgan_D64", 5_723_906),
    (stackgan_birds, ["--dataset", "cub"], "D1", "stackgan_D128", 18_834_178),
    (stackgan_birds, ["--dataset", "cub"], "D2", "stackgan_D256", 71_269_122),
]
IDS = [f"{official}" for _, _, _, official, _ in CASES]


def meta_networks(trainer, argv: list[str]) -> dict[str, torch.nn.Module]:
    """``build_networks(argv)`` with shapes only (the real presets' inits take a minute on a CPU otherwise)."""
    with torch.device("meta"):
        return trainer.build_networks(argv)


@pytest.mark.parametrize(("trainer", "argv", "name", "official", "count"), CASES, ids=IDS)
def test_parameter_counts_are_the_official_ones(trainer, argv, name, official, count) -> None:
    net = meta_networks(trainer, argv)[name]
    assert sum(p.numel() for p in net.parameters()) == count == OFFICIAL[official]["parameters"]


@pytest.mark.parametrize(("trainer", "argv", "name", "official", "count"), CASES, ids=IDS)
def test_every_key_maps_onto_the_official_key_of_the_same_shape(trainer, argv, name, official, count) -> None:
    rules = trainer.official_keys(argv)[name].rules
    ours = {key: tuple(t.shape) for key, t in meta_networks(trainer, argv)[name].state_dict().items()}
    theirs = {key: tuple(shape) for key, shape in OFFICIAL[official]["state_dict"]}
    mapped = {key: official_key(key, rules) for key in ours}
    assert set(mapped.values()) == set(theirs)  # every official entry is filled, none is left over
    for key, shape in ours.items():
        numel = torch.Size(shape).numel()
        assert torch.Size(theirs[mapped[key]]).numel() == numel, (key, mapped[key])
        if theirs[mapped[key]] != shape:  # the one allowed difference: DRIT's LayerNorm scales, (C, 1, 1) there
            assert theirs[mapped[key]] == (*shape, 1, 1), (key, mapped[key])


def test_the_trainers_list_every_official_network() -> None:
    assert set(dcgan_cifar10.build_networks([])) == {"G", "D"}
    assert set(pix2pix_facades.build_networks([])) == {"G", "D"}
    assert set(meta_networks(drit_yosemite, ["--dataset", "cat2dog"])) == set(DRIT_NETS)
    assert set(meta_networks(stackgan_birds, ["--dataset", "cub"])) == {"G", "D0", "D1", "D2"}
    covered = {official for *_, official, _ in CASES}
    assert covered == set(OFFICIAL)


def official_checkpoint(names: list[str], prefix: str = "") -> dict[str, dict[str, torch.Tensor]]:
    """A checkpoint with the official entries' keys and shapes, and distinct values in every tensor."""
    checkpoint = {}
    for entry, official in names:
        state = {}
        for i, (key, shape) in enumerate(OFFICIAL[official]["state_dict"]):
            if key.endswith("num_batches_tracked"):
                state[prefix + key] = torch.tensor(i, dtype=torch.int64)
            else:
                state[prefix + key] = torch.randn(shape, generator=torch.Generator().manual_seed(i))
        checkpoint[entry] = state
    return checkpoint


@pytest.mark.parametrize(
    ("trainer", "argv", "officials"),
    [
        (dcgan_cifar10, ["--dataset", "cifar10"], {"G": "dcgan_G", "D": "dcgan_D"}),
        (pix2pix_facades, ["--dataset", "facades"], {"G": "pix2pix_G", "D": "pix2pix_D"}),
        (drit_yosemite, ["--dataset", "yosemite"], {n: f"drit_yosemite_{n}" for n in DRIT_NETS}),
        (drit_yosemite, ["--dataset", "cat2dog"], {n: f"drit_cat2dog_{n}" for n in DRIT_NETS}),
        (stackgan_birds, ["--dataset", "cub", "--stages", "1"], {"G": None, "D0": "stackgan_D64"}),
    ],
    ids=["dcgan", "pix2pix", "drit-yosemite", "drit-cat2dog", "stackgan-D64"],
)
def test_an_official_checkpoint_loads_value_for_value(trainer, argv, officials) -> None:
    keys = trainer.official_keys(argv)
    with torch.device("meta"):
        nets = {name: net for name, net in trainer.build_networks(argv).items() if officials[name]}
    nets = {name: net.to_empty(device="cpu") for name, net in nets.items()}
    prefix = "module." if trainer is stackgan_birds else ""  # StackGAN++ saves its DataParallel wrappers
    checkpoint = official_checkpoint([(keys[n].entry, officials[n]) for n in nets], prefix)
    checkpoint["ep"] = {}  # official checkpoints hold counters and optimizer states besides: ignored
    load_official(nets, checkpoint, {n: keys[n] for n in nets})
    for name, net in nets.items():
        official = checkpoint[keys[name].entry]
        for key, value in net.state_dict().items():
            source = official[prefix + official_key(key, keys[name].rules)]
            assert torch.equal(value, source.reshape(value.shape)), (name, key)


def test_loading_is_strict_both_ways_with_clear_errors() -> None:
    net = dcgan_cifar10.build_networks(["--dataset", "cifar10"])["D"]
    state = official_checkpoint([("dis", "dcgan_D")])["dis"]
    with pytest.raises(KeyError, match=r"no 'conv4.bias' \(for our 'conv4.bias'\)"):
        load_official_state_dict(net, {k: v for k, v in state.items() if k != "conv4.bias"}, ())
    with pytest.raises(KeyError, match=r"1 official entries have no place in Discriminator: \['conv5.weight'\]"):
        load_official_state_dict(net, {**state, "conv5.weight": torch.zeros(1)}, ())
    with pytest.raises(ValueError, match=r"'conv1.weight': official shape \(128, 3, 4, 4\), ours \(128, 13, 4, 4\)"):
        load_official_state_dict(net, {**state, "conv1.weight": torch.zeros(128, 3, 4, 4)}, ())
    with pytest.raises(KeyError, match=r"no 'dis' entry for 'D'; it has \['gen'\]"):
        load_official({"D": net}, {"gen": state}, dcgan_cifar10.official_keys())
    stale = {"model.1.running_mean": torch.zeros(3), "model.1.running_var": torch.ones(3)}  # pre-0.4 InstanceNorm
    load_official_state_dict(net, {**state, **stale}, ())
    del state["conv2_bn.num_batches_tracked"]  # PyTorch 0.4.0 checkpoints lack it: ours is kept
    load_official_state_dict(net, state, ())
    assert torch.equal(net.conv1.weight, state["conv1.weight"])


@pytest.mark.parametrize("trainer", [dcgan_cifar10, pix2pix_facades, drit_yosemite, stackgan_birds])
def test_build_networks_needs_no_data(trainer, tmp_path) -> None:
    missing = str(tmp_path / "nowhere")
    real = trainer.DATASETS[1]
    with torch.device("meta"):
        nets = trainer.build_networks(["--dataset", real, "--data-root", missing])
    assert nets
    assert all(isinstance(n, torch.nn.Module) for n in nets.values())


@pytest.mark.parametrize("trainer", [dcgan_cifar10, pix2pix_facades, drit_yosemite, stackgan_birds])
def test_build_networks_is_what_main_trains(trainer) -> None:
    """The built-in preset's networks equal, tensor for tensor, those that main's training phase starts from."""
    from examples.common.runtime import Runtime

    argv = ["--seed", "3"]
    _, args = trainer.parse_args(argv)
    built = trainer.build_networks(argv)
    with Runtime.start("cpu", False, timeout=60) as runtime:
        if trainer is drit_yosemite:
            nets = trainer.wrap_networks(trainer.make_networks(args), runtime)
            trained = {"enc_c": nets.enc_c, "enc_a": nets.enc_a, "gen": nets.gen, "disContent": nets.dis_c}
            trained |= {f"dis{k}": d for k, d in nets.dis.items()}
        elif trainer is stackgan_birds:
            models = trainer.build_training(args, runtime, t_dim=trainer.TEXT_DIM).models
            trained = {k: v for k, v in models.items() if k != "G_ema"}
        elif trainer is pix2pix_facades:
            trained = trainer.build_training(args, runtime, train_size=64).models
        else:
            trained = trainer.build_training(args, runtime).models
    assert set(trained) == set(built)
    for name, net in built.items():
        theirs = trained[name].state_dict()
        for key, value in net.state_dict().items():
            assert torch.equal(value, theirs[key]), (name, key)


def test_an_official_checkpoint_file_loads_with_weights_only(tmp_path) -> None:
    """The official DCGAN/DRIT ``saver`` writes one dict with the networks, optimizer states and counters."""
    net = dcgan_cifar10.build_networks(["--dataset", "cifar10"])
    official = official_checkpoint([("gen", "dcgan_G"), ("dis", "dcgan_D")])
    adam = torch.optim.Adam(torch.nn.Linear(2, 2).parameters())
    torch.save({**official, "gen_opt": adam.state_dict(), "ep": 199, "total_it": 312_500}, tmp_path / "00199.pth")
    load_official(net, torch.load(tmp_path / "00199.pth", weights_only=True), dcgan_cifar10.official_keys())
    assert torch.equal(net["G"].deconv1.weight, official["gen"]["deconv1.weight"])
    assert torch.equal(net["D"].conv4.bias, official["dis"]["conv4.bias"])
