#!/usr/bin/python3
"""cri.py: a small client of Kubernetes' CRI (runtime.v1) for husk's tests.

Debian 12 has no crictl. This speaks the CRI's gRPC to a runtime's socket
(containerd's) as the kubelet would, the calls a test needs, each a
subcommand taking and printing JSON (the CRI's messages in protobuf's JSON
mapping, field names as in runtime.proto):

  cri.py --socket SOCK version
  cri.py --socket SOCK runp [--runtime HANDLER] POD.json     prints the sandbox's id
  cri.py --socket SOCK inspectp [-v] ID                      PodSandboxStatusResponse
  cri.py --socket SOCK pods                                  ListPodSandboxResponse
  cri.py --socket SOCK stopp ID | rmp ID
  cri.py --socket SOCK create POD_ID CTR.json POD.json       prints the container's id
  cri.py --socket SOCK start ID | stop [-t S] ID | rm ID
  cri.py --socket SOCK inspect [-v] ID                       ContainerStatusResponse
  cri.py --socket SOCK ps [--pod ID]                         ListContainersResponse
  cri.py --socket SOCK exec-sync [-t S] ID -- CMD ARG...     the command's output
  cri.py --socket SOCK image-status IMAGE                    ImageStatusResponse

With -v, each document of the reply's `info` (JSON in a string) is printed
parsed. exec-sync writes the command's stdout and stderr to its own and
exits with the command's status. A call that fails prints the gRPC status
and exits with 125.

The messages are compiled from runtime.proto (beside this file) by protoc
at each run, into a temporary directory, or once into $CRI_PROTO_OUT when
that is set; the calls need only grpc's core, no generated stubs.
"""

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import json_format

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "runtime.proto")
FAILED = 125


def load_messages():
    """runtime_pb2, compiled from runtime.proto unless $CRI_PROTO_OUT has it."""
    out = os.environ.get("CRI_PROTO_OUT")
    tmp = None
    if not out:
        out = tmp = tempfile.mkdtemp(prefix="cri-proto.")
    try:
        gen = os.path.join(out, "runtime_pb2.py")
        if not os.path.exists(gen) or os.path.getmtime(gen) < os.path.getmtime(PROTO):
            os.makedirs(out, exist_ok=True)
            subprocess.run(["protoc", "-I", HERE, "--python_out", out, PROTO], check=True)
        sys.path.insert(0, out)
        return importlib.import_module("runtime_pb2")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


pb = load_messages()


class Client:
    def __init__(self, socket, timeout):
        self.channel = grpc.insecure_channel("unix://" + os.path.abspath(socket))
        self.timeout = timeout

    def call(self, service, method, request, reply_type, timeout=None):
        rpc = self.channel.unary_unary(
            "/runtime.v1.%s/%s" % (service, method),
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=reply_type.FromString,
        )
        try:
            return rpc(request, timeout=timeout or self.timeout)
        except grpc.RpcError as e:
            sys.stderr.write("cri.py: %s: %s: %s\n" % (method, e.code().name, e.details()))
            sys.exit(FAILED)

    def runtime(self, method, request, reply_type, timeout=None):
        return self.call("RuntimeService", method, request, reply_type, timeout)


def from_file(path, message):
    with open(path) as f:
        return json_format.Parse(f.read(), message)


def show(message, verbose_info=False):
    doc = json_format.MessageToDict(
        message, preserving_proto_field_name=True, including_default_value_fields=True
    )
    if verbose_info and doc.get("info"):
        doc["info"] = {k: json.loads(v) for k, v in doc["info"].items()}
    print(json.dumps(doc, indent=2, sort_keys=True))


def main():
    ap = argparse.ArgumentParser(prog="cri.py", description="A small CRI (runtime.v1) client.")
    ap.add_argument("--socket", required=True, help="the runtime's CRI socket")
    ap.add_argument("--timeout", type=float, default=240, help="seconds each call may take")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("version")
    p = sub.add_parser("runp")
    p.add_argument("--runtime", default="", help="the runtime handler")
    p.add_argument("pod_json")
    for name in ("inspectp", "inspect"):
        p = sub.add_parser(name)
        p.add_argument("-v", "--verbose", action="store_true")
        p.add_argument("id")
    for name in ("stopp", "rmp", "start", "rm"):
        sub.add_parser(name).add_argument("id")
    sub.add_parser("pods")
    p = sub.add_parser("create")
    p.add_argument("pod_id")
    p.add_argument("ctr_json")
    p.add_argument("pod_json")
    p = sub.add_parser("stop")
    p.add_argument("-t", "--stop-timeout", type=int, default=0, help="seconds before SIGKILL")
    p.add_argument("id")
    p = sub.add_parser("ps")
    p.add_argument("--pod", default="")
    p = sub.add_parser("exec-sync")
    p.add_argument("-t", "--exec-timeout", type=int, default=0, help="seconds the command may run")
    p.add_argument("id")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p = sub.add_parser("image-status")
    p.add_argument("image")
    a = ap.parse_args()

    c = Client(a.socket, a.timeout)
    if a.cmd == "version":
        show(c.runtime("Version", pb.VersionRequest(version="v1"), pb.VersionResponse))
    elif a.cmd == "runp":
        req = pb.RunPodSandboxRequest(
            config=from_file(a.pod_json, pb.PodSandboxConfig()), runtime_handler=a.runtime
        )
        print(c.runtime("RunPodSandbox", req, pb.RunPodSandboxResponse).pod_sandbox_id)
    elif a.cmd == "inspectp":
        req = pb.PodSandboxStatusRequest(pod_sandbox_id=a.id, verbose=a.verbose)
        show(c.runtime("PodSandboxStatus", req, pb.PodSandboxStatusResponse), a.verbose)
    elif a.cmd == "pods":
        show(c.runtime("ListPodSandbox", pb.ListPodSandboxRequest(), pb.ListPodSandboxResponse))
    elif a.cmd == "stopp":
        c.runtime("StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=a.id),
                  pb.StopPodSandboxResponse)
    elif a.cmd == "rmp":
        c.runtime("RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=a.id),
                  pb.RemovePodSandboxResponse)
    elif a.cmd == "create":
        req = pb.CreateContainerRequest(
            pod_sandbox_id=a.pod_id,
            config=from_file(a.ctr_json, pb.ContainerConfig()),
            sandbox_config=from_file(a.pod_json, pb.PodSandboxConfig()),
        )
        print(c.runtime("CreateContainer", req, pb.CreateContainerResponse).container_id)
    elif a.cmd == "start":
        c.runtime("StartContainer", pb.StartContainerRequest(container_id=a.id),
                  pb.StartContainerResponse)
    elif a.cmd == "stop":
        req = pb.StopContainerRequest(container_id=a.id, timeout=a.stop_timeout)
        # The call lasts as long as the container takes to stop.
        c.runtime("StopContainer", req, pb.StopContainerResponse, c.timeout + a.stop_timeout)
    elif a.cmd == "rm":
        c.runtime("RemoveContainer", pb.RemoveContainerRequest(container_id=a.id),
                  pb.RemoveContainerResponse)
    elif a.cmd == "inspect":
        req = pb.ContainerStatusRequest(container_id=a.id, verbose=a.verbose)
        show(c.runtime("ContainerStatus", req, pb.ContainerStatusResponse), a.verbose)
    elif a.cmd == "ps":
        req = pb.ListContainersRequest(filter=pb.ContainerFilter(pod_sandbox_id=a.pod))
        show(c.runtime("ListContainers", req, pb.ListContainersResponse))
    elif a.cmd == "exec-sync":
        cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
        if not cmd:
            ap.error("exec-sync: no command")
        req = pb.ExecSyncRequest(container_id=a.id, cmd=cmd, timeout=a.exec_timeout)
        r = c.runtime("ExecSync", req, pb.ExecSyncResponse, c.timeout + a.exec_timeout)
        sys.stdout.buffer.write(r.stdout)
        sys.stderr.buffer.write(r.stderr)
        sys.stdout.flush()
        sys.exit(r.exit_code)
    elif a.cmd == "image-status":
        req = pb.ImageStatusRequest(image=pb.ImageSpec(image=a.image))
        r = c.call("ImageService", "ImageStatus", req, pb.ImageStatusResponse)
        show(r)
        # No image by that name: a reply without one, and a failure here.
        if not r.HasField("image"):
            sys.exit(1)


if __name__ == "__main__":
    main()
