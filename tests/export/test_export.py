"""Exports hand over exactly the trained network: ONNX run by onnxruntime and the generated
PyTorch and Keras scripts give the studio's predictions (and, for PyTorch, its gradients)."""

import importlib.util
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from bpstudio.data.datasets import DatasetRecipe
from bpstudio.export import ExportError, export_project
from bpstudio.export.onnx import onnx_model
from bpstudio.project import Project

# Every layer kind and activation, regularizers, a layer without bias, Keras-style BN settings.
EVERY_KIND = [
    {"class": "Dense", "units": 6, "activation": "relu", "kernel_regularizer": {"name": "l2"}},
    {"class": "BatchNormalization", "momentum": 0.9, "epsilon": 0.001},
    {"class": "Dropout", "rate": 0.25},
    {"class": "Dense", "units": 5, "use_bias": False},
    {"class": "Activation", "activation": {"name": "leaky_relu", "negative_slope": 0.1}},
    {
        "class": "Dense",
        "units": 4,
        "activation": {"name": "elu", "alpha": 0.5},
        "kernel_regularizer": {"name": "l1_l2", "l1": 0.001, "l2": 0.002},
    },
    {"class": "Dense", "units": 4, "activation": "sigmoid"},
    {"class": "Dense", "units": 3, "activation": "leaky_relu"},
    {"class": "Activation", "activation": "elu"},
    {"class": "Dense", "units": 3, "activation": "tanh"},
    {"class": "Dense", "units": 1, "activation": "sigmoid"},
]

PROJECTS = {
    "binary": dict(
        dataset=DatasetRecipe("xor", n_samples=200, features=("x1", "x2", "x1*x2")),
        layers=EVERY_KIND,
        optimizer={
            "name": "sgd",
            "learning_rate": 0.05,
            "momentum": 0.9,
            "nesterov": True,
            "global_clipnorm": 5.0,
        },
        loss="binary_crossentropy",
    ),
    "digits": dict(
        dataset=DatasetRecipe("digits", n_samples=10),
        layers=[
            {"class": "Dense", "units": 12, "activation": "tanh"},
            {"class": "BatchNormalization"},
            {"class": "Dense", "units": 10, "activation": "softmax"},
        ],
        optimizer={"name": "adam", "learning_rate": 0.01},
        loss="categorical_crossentropy",
    ),
    "regression": dict(
        dataset=DatasetRecipe("plane", n_samples=100, noise=0.1),
        layers=[
            {"class": "Dense", "units": 5, "activation": "elu"},
            {"class": "Dense", "units": 1, "activation": "linear"},
        ],
        optimizer={"name": "rmsprop", "learning_rate": 0.01, "centered": True, "momentum": 0.5},
        loss="mse",
    ),
}


def trained_project(kind, epochs=3) -> Project:
    project = Project(name=f"Export {kind}", batch_size=16, epochs=2, **PROJECTS[kind])
    trainer = project.make_trainer()
    trainer.fit(epochs)
    project.capture(trainer)
    return project


@pytest.fixture(scope="module", params=sorted(PROJECTS))
def project(request):
    return trained_project(request.param)


def load_script(path):
    spec = importlib.util.spec_from_file_location(path.stem.replace(".", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_onnx_matches_predict_for_every_layer_kind(project, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    out = export_project(project, "onnx", tmp_path / "net.onnx").path
    net = project.build_network()
    X = project.build_dataset().X_test.astype(np.float32)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"]
    assert session.get_inputs()[0].shape == ["batch", net.input_dim]
    assert session.get_outputs()[0].shape == ["batch", net.output_dim]
    (got,) = session.run(["output"], {"input": X})
    want = net.predict(X)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # Inference mode: no dropout noise, so two runs agree exactly.
    np.testing.assert_array_equal(got, session.run(["output"], {"input": X})[0])


def test_onnx_model_documents_its_inputs_and_outputs(tmp_path):
    pytest.importorskip("onnx")
    project = trained_project("binary", epochs=1)
    model = onnx_model(project.build_network(), project.build_dataset(), project.name)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["inputs"] == "x1, x2, x1*x2"
    assert "probability of class 'blue'" in props["outputs"]


def test_pytorch_script_gives_the_same_predictions_and_gradients(project, tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: export not checked")
    exported = export_project(project, "pytorch", tmp_path / "net.py")
    script = load_script(exported.path)
    model = script.StudioNet()
    script.load_studio_weights(model)
    net = project.build_network()
    dataset = project.build_dataset()
    X = dataset.X_train[:32]
    model.eval()
    with torch.no_grad():
        got = model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(got, net.predict(X), rtol=1e-10, atol=1e-12)

    # Gradients of one batch in training mode (batch norm on batch statistics), dropout off
    # on both sides since its random masks cannot agree.
    for layer in net.layers:
        if layer.kind == "dropout":
            layer.rate = 0.0
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    x_train, y_train, _, _ = script.load_data()
    loss, grads = net.loss_and_gradients(X, dataset.y_train[:32], training=True)
    model.train()
    model.zero_grad()
    torch_loss = script.loss_of(model, x_train[:32], y_train[:32])
    torch_loss.backward()
    assert torch_loss.item() == pytest.approx(loss, rel=1e-10)
    named = dict(model.named_parameters())
    for key, grad in grads.items():
        layer, param = key.split("/")
        torch_name = {"kernel": "weight", "gamma": "weight", "beta": "bias"}.get(param, param)
        torch_grad = named[f"layers.{layer}.{torch_name}"].grad.numpy()
        np.testing.assert_allclose(
            torch_grad.T if param == "kernel" else torch_grad, grad, rtol=1e-8, atol=1e-12
        )


def test_pytorch_script_runs_as_written(tmp_path):
    pytest.importorskip("torch", reason="PyTorch is not installed: export not checked")
    project = trained_project("binary", epochs=2)
    exported = export_project(project, "pytorch", tmp_path / "xor.py")
    run = subprocess.run(
        [sys.executable, str(exported.path), "--epochs", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    dataset = project.build_dataset()
    test_loss = project.build_network().evaluate(dataset.X_test, dataset.y_test)["loss"]
    assert lines[0].startswith(f"as trained in the studio: test loss {test_loss:.4f}")
    assert lines[1].startswith("epoch 1: test loss") and lines[2].startswith("epoch 2:")


def test_keras_script_gives_the_same_predictions_and_runs(project, tmp_path):
    if importlib.util.find_spec("keras") is None:
        pytest.skip("Keras is not installed: export not checked")
    backend = next((b for b in ("torch", "jax", "tensorflow") if importlib.util.find_spec(b)), None)
    if backend is None:
        pytest.skip("Keras has no backend installed here: export not checked")
    exported = export_project(project, "keras", tmp_path / "net.py")
    X = project.build_dataset().X_test
    np.save(tmp_path / "X.npy", X)
    check = (
        "import sys, numpy as np, importlib.util as u\n"
        f"spec = u.spec_from_file_location('net', {str(exported.path)!r})\n"
        "m = u.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "model = m.build_model(); m.load_studio_weights(model)\n"
        f"np.save({str(tmp_path / 'got.npy')!r}, "
        f"np.asarray(model.predict(np.load({str(tmp_path / 'X.npy')!r}), verbose=0)))\n"
        "m.main(epochs=1)\n"
    )
    env = {**os.environ, "KERAS_BACKEND": backend}
    run = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "as trained in the studio: test" in run.stdout
    got = np.load(tmp_path / "got.npy")
    # Keras' torch backend multiplies float64 matrices in float32 (measured: 1.2e-6 apart after
    # one Dense layer), so the agreement is float32's, as for ONNX.
    np.testing.assert_allclose(got, project.build_network().predict(X), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("to", ["pytorch", "keras"])
def test_generated_scripts_are_formatted_and_lint_clean(project, to, tmp_path):
    ruff = shutil.which("ruff", path=os.path.dirname(sys.executable)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    path = export_project(project, to, tmp_path / "net.py").path
    fmt = subprocess.run(
        [ruff, "format", "--isolated", "--diff", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert fmt.returncode == 0, fmt.stdout
    lint = subprocess.run(
        [ruff, "check", "--isolated", "--select", "E,F,W,I,B,UP", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout


def test_npz_holds_every_parameter_and_the_project(tmp_path):
    project = trained_project("binary", epochs=1)
    path = export_project(project, "npz", tmp_path / "net.npz").path
    net = project.build_network()
    with np.load(path, allow_pickle=False) as f:
        assert set(f.files) == {*net.get_weights(), "project.json"}
        np.testing.assert_array_equal(f["dense/kernel"], net.get_weights()["dense/kernel"])
        assert '"layers"' in str(f["project.json"])


def test_unsupported_and_unwritable_exports_say_why(tmp_path, monkeypatch):
    project = trained_project("regression", epochs=1)
    with pytest.raises(ExportError, match="ending in .py"):
        export_project(project, "pytorch", tmp_path / "net.txt")
    with pytest.raises(ExportError, match="cannot write"):
        export_project(project, "npz", tmp_path / "missing" / "net.npz")
    with pytest.raises(ExportError, match="must be one of"):
        export_project(project, "caffe", tmp_path / "net")
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ExportError, match=r"pip install 'bpstudio\[onnx\]'"):
        export_project(project, "onnx", tmp_path / "net.onnx")
    assert not list(tmp_path.iterdir())
