"""Downloads on loopback: atomic, resumable, verified, and one-line failures."""
import hashlib
import io
import os
import socket
import subprocess
import tarfile
import zipfile

import pytest

from prefinput.errors import UserError
from prefinput.registry import catalogue, command, download, fetching


def serving(loopback, folder):
    folder.mkdir()
    server = loopback(folder)
    yield server
    server.close()


@pytest.fixture
def served(tmp_path, loopback):
    """A loopback HTTP server of tmp_path/www."""
    yield from serving(loopback, tmp_path / "www")


@pytest.fixture
def nets(tmp_path):
    (tmp_path / "nets").mkdir()
    return str(tmp_path / "nets")


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def publish(server, name, data):
    with open(os.path.join(server.root, name), "wb") as f:
        f.write(data)
    return f"{server.url}/{name}"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def one_file_model(urls, checksum=None, dest="demo/weights.bin"):
    return catalogue.Model("demo", "a test model", "none",
                           (catalogue.File(dest, tuple(urls), None, (checksum,) if checksum else ()),))


BODY = os.urandom(3 * download.CHUNK + 12345)


def test_good_download_verifies_and_lands_atomically(served, nets, monkeypatch):
    url = publish(served, "w.bin", BODY)
    dest = os.path.join(nets, "demo/weights.bin")
    renames = []
    real_replace = os.replace

    def spy(src, dst):
        renames.append((src, dst, os.path.exists(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(download.os, "replace", spy)
    assert fetching.fetch(one_file_model([url], sha256(BODY)), root=nets, progress=False) == [dest]
    assert open(dest, "rb").read() == BODY
    assert renames == [(dest + ".part", dest, False)]
    assert sorted(os.listdir(os.path.dirname(dest))) == ["weights.bin"]


def test_progress_bar_goes_to_stderr(served, nets, capfd):
    url = publish(served, "w.bin", BODY)
    fetching.fetch(one_file_model([url], sha256(BODY)), root=nets)
    captured = capfd.readouterr()
    assert "demo/weights.bin" in captured.err and "100%" in captured.err
    assert captured.out == ""


def test_interrupted_download_resumes_with_a_range_request(served, nets):
    url = publish(served, "w.bin", BODY)
    served.cuts["/w.bin"] = 2 * download.CHUNK + 7
    fetching.fetch(one_file_model([url], sha256(BODY)), root=nets, progress=False)
    assert open(os.path.join(nets, "demo/weights.bin"), "rb").read() == BODY
    assert served.requests == [("/w.bin", None), ("/w.bin", f"bytes={2 * download.CHUNK + 7}-")]


def test_interrupted_download_restarts_when_the_server_ignores_ranges(served, nets):
    url = publish(served, "w.bin", BODY)
    served.cuts["/w.bin"], served.ranges = 1000, False
    fetching.fetch(one_file_model([url], sha256(BODY)), root=nets, progress=False)
    assert open(os.path.join(nets, "demo/weights.bin"), "rb").read() == BODY
    assert len(served.requests) == 2


def test_interrupted_download_never_passes_for_complete(served, nets, monkeypatch):
    """Even with no checksum to check, a cut-off body is kept as .part only,
    reported as partial, and completed by the next run."""
    monkeypatch.setattr(download, "ATTEMPTS", 1)
    url = publish(served, "w.bin", BODY)
    served.cuts["/w.bin"] = 5000
    demo = one_file_model([url])
    with pytest.raises(UserError, match="demo: .*incomplete"):
        fetching.fetch(demo, root=nets, progress=False)
    dest = os.path.join(nets, "demo/weights.bin")
    assert not os.path.exists(dest) and os.path.getsize(dest + ".part") == 5000
    assert fetching.state(demo.files[0], nets) == "partial"
    fetching.fetch(demo, root=nets, progress=False)
    assert open(dest, "rb").read() == BODY
    assert served.requests[-1] == ("/w.bin", "bytes=5000-")


def test_checksum_mismatch_is_refused_in_one_line_and_kept_aside(served, nets):
    url = publish(served, "w.bin", BODY)
    with pytest.raises(UserError) as error:
        fetching.fetch(one_file_model([url], sha256(b"something else")), root=nets, progress=False)
    message = str(error.value)
    dest = os.path.join(nets, "demo/weights.bin")
    assert "\n" not in message
    assert message.startswith("demo: ") and "checksum mismatch" in message and "nets/download.sh --install demo" in message
    assert dest + ".bad" in message
    assert not os.path.exists(dest) and not os.path.exists(dest + ".part")
    assert open(dest + ".bad", "rb").read() == BODY


def test_a_mismatch_on_the_primary_falls_back_to_the_alternative(served, nets):
    bad, good = publish(served, "bad.bin", b"tampered"), publish(served, "good.bin", BODY)
    fetching.fetch(one_file_model([bad, good], sha256(BODY)), root=nets, progress=False)
    assert open(os.path.join(nets, "demo/weights.bin"), "rb").read() == BODY


def test_404_names_the_model_and_every_alternative(served, nets):
    urls = [f"{served.url}/primary/w.bin", f"{served.url}/mirror/w.bin"]
    with pytest.raises(UserError) as error:
        fetching.fetch(one_file_model(urls, sha256(BODY)), root=nets, progress=False)
    message = str(error.value)
    assert "\n" not in message and message.startswith("demo: ")
    assert all(f"{url}: HTTP 404" in message for url in urls)
    # not the command that just failed: where else to get it
    assert "PREFINPUT_MIRROR" in message and "nets/download.sh --install demo PATH/TO/weights.bin" in message
    assert os.listdir(os.path.join(nets, "demo")) == []


def test_unreachable_host_names_the_model_and_the_alternatives(served, nets):
    dead = f"http://127.0.0.1:{closed_port()}/w.bin"
    alternative = f"{served.url}/missing.bin"
    with pytest.raises(UserError) as error:
        fetching.fetch(one_file_model([dead, alternative], sha256(BODY)), root=nets, progress=False)
    message = str(error.value)
    assert "\n" not in message
    assert f"{dead}: Connection refused" in message and f"{alternative}: HTTP 404" in message
    assert "nets/download.sh --install demo" in message


def test_second_run_downloads_nothing(served, nets):
    demo = one_file_model([publish(served, "w.bin", BODY)], sha256(BODY))
    assert len(fetching.fetch(demo, root=nets, progress=False)) == 1
    asked = len(served.requests)
    assert fetching.fetch(demo, root=nets, progress=False) == []
    assert len(served.requests) == asked


def test_unknown_checksum_is_recorded_at_first_download_and_enforced_later(served, nets):
    url = publish(served, "w.bin", BODY)
    demo = one_file_model([url])
    fetching.fetch(demo, root=nets, progress=False)
    assert fetching.recorded(nets) == {"demo/weights.bin": sha256(BODY)}
    assert fetching.state(demo.files[0], nets) == "ok"
    os.remove(os.path.join(nets, "demo/weights.bin"))
    publish(served, "w.bin", b"changed upstream")
    with pytest.raises(UserError, match="checksum mismatch"):
        fetching.fetch(demo, root=nets, progress=False)


def test_corrupt_file_is_listed_as_corrupt(served, nets):
    demo = one_file_model([publish(served, "w.bin", BODY)], sha256(BODY))
    fetching.fetch(demo, root=nets, progress=False)
    with open(os.path.join(nets, "demo/weights.bin"), "r+b") as f:
        f.write(b"x")
    lines, incomplete = command.listing(nets, [demo])
    assert lines == ["demo: a test model. Licence: none", f"  corrupt    {'3.0 MB':>11}  demo/weights.bin"]
    assert incomplete == [(demo, demo.files[0], "corrupt")]


# --- archives -------------------------------------------------------------

def zip_bytes(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name), data)
    return buffer.getvalue()


def tar_bytes(members, symlink=None):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink[0])
            info.type, info.linkname = tarfile.SYMTYPE, symlink[1]
            t.addfile(info)
    return buffer.getvalue()


def archive_model(url, name, members):
    archive = catalogue.Archive(name, (url,))
    return catalogue.Model("packed", "a test archive", "none", tuple(
        catalogue.File(f"packed/{member.split('/')[-1]}", archive=archive, member=member) for member in members))


@pytest.mark.parametrize("pack, name", [(zip_bytes, "a.zip"), (tar_bytes, "a.tar.gz")])
def test_archive_members_are_extracted_and_the_archive_removed(served, nets, pack, name):
    url = publish(served, name, pack({"release/fc6/generator.bin": BODY, "release/fc7/other.bin": b"7"}))
    packed = archive_model(url, name, ["release/fc6/generator.bin", "other.bin"])
    fetching.fetch(packed, root=nets, progress=False)
    assert open(os.path.join(nets, "packed/generator.bin"), "rb").read() == BODY
    assert open(os.path.join(nets, "packed/other.bin"), "rb").read() == b"7"
    assert os.listdir(os.path.join(nets, "downloads")) == []
    assert set(fetching.recorded(nets)) == {f"downloads/{name}", "packed/generator.bin", "packed/other.bin"}


@pytest.mark.parametrize("pack, name", [(zip_bytes, "a.zip"), (tar_bytes, "a.tar.gz")])
@pytest.mark.parametrize("evil", ["/etc/evil", "release/../../evil", "../evil"])
def test_archives_with_absolute_or_dotdot_members_are_rejected(served, nets, pack, name, evil):
    url = publish(served, name, pack({"release/w.bin": BODY, evil: b"gotcha"}))
    with pytest.raises(UserError, match="refused: it holds an absolute or '..' path") as error:
        fetching.fetch(archive_model(url, name, ["release/w.bin"]), root=nets, progress=False)
    assert "\n" not in str(error.value)
    assert not os.path.exists(os.path.join(nets, "packed", "w.bin"))
    assert not os.path.exists(os.path.join(os.path.dirname(nets), "evil"))
    # refused: kept aside, where no fetch looks, and its checksum not recorded; the genuine archive is then taken
    assert os.listdir(os.path.join(nets, "downloads")) == [f"{name}.bad"] and fetching.recorded(nets) == {}
    publish(served, name, pack({"release/w.bin": BODY}))
    fetching.fetch(archive_model(url, name, ["release/w.bin"]), root=nets, progress=False)
    assert open(os.path.join(nets, "packed", "w.bin"), "rb").read() == BODY


def test_tar_member_that_is_a_link_is_rejected(served, nets):
    url = publish(served, "a.tar.gz", tar_bytes({}, symlink=("w.bin", "/etc/passwd")))
    with pytest.raises(UserError, match="not a plain file"):
        fetching.fetch(archive_model(url, "a.tar.gz", ["w.bin"]), root=nets, progress=False)
    assert not os.path.lexists(os.path.join(nets, "packed", "w.bin"))


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB file system (tmpfs), as a nearly full disk is."""
    folder = tmp_path / "small"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.decode().strip()}")
    yield str(folder)
    subprocess.run(["umount", str(folder)], check=True)


def zip_deflated(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("pack, name", [(zip_deflated, "a.zip"), (tar_bytes, "a.tar.gz")])
def test_a_member_larger_than_the_free_space_is_refused_before_it_is_written(served, small_disk, pack, name):
    url = publish(served, name, pack({"w.bin": bytes(3 << 20)}))  # 3 MB of zeros: a few kB packed
    with pytest.raises(UserError, match=rf"{name}: w\.bin needs 3145728 bytes, only \d+ are free in \S*packed; free "
                                        r"some space or set NETS_DIR elsewhere") as error:
        fetching.fetch(archive_model(url, name, ["w.bin"]), root=small_disk, progress=False)
    assert "\n" not in str(error.value)
    assert os.listdir(os.path.join(small_disk, "packed")) == [] and fetching.recorded(small_disk) == {}


def test_an_extraction_that_fails_leaves_no_part(served, nets):
    data = tar_bytes({"w.bin": BODY})
    url = publish(served, "a.tar.gz", data[:len(data) // 2])
    with pytest.raises(UserError, match=r"cannot extract w\.bin"):
        fetching.fetch(archive_model(url, "a.tar.gz", ["w.bin"]), root=nets, progress=False)
    assert os.listdir(os.path.join(nets, "packed")) == []


def test_unsafe_member_names():
    assert all(map(download.unsafe_member, ["/abs", "\\abs", "C:/x", "a/../b", "..", "a\\..\\b"]))
    assert not any(map(download.unsafe_member, ["a/b", "./a", "a..b/c", "..a"]))


# --- require: what the example scripts call --------------------------------

def test_require_fetches_what_is_missing(served, nets):
    demo = one_file_model([publish(served, "w.bin", BODY)], sha256(BODY))
    path = os.path.join(nets, "demo/weights.bin")
    fetching.require([path], root=nets, progress=False, models=[demo])
    assert open(path, "rb").read() == BODY


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_require_offline_stops_with_the_fetch_command(served, nets, monkeypatch, how):
    demo = one_file_model([publish(served, "w.bin", BODY)], sha256(BODY))
    path = os.path.join(nets, "demo/weights.bin")
    if how == "environment":
        monkeypatch.setenv("PREFINPUT_OFFLINE", "1")
    with pytest.raises(UserError) as error:
        fetching.require([path], offline=how == "flag", root=nets, models=[demo])
    assert str(error.value) == (f"demo: {path} is missing and downloads are off (offline); "
                                "fetch it with: nets/download.sh demo")
    assert served.requests == []


def test_require_failure_is_one_line_saying_where_else_to_get_it(nets):
    demo = one_file_model([f"http://127.0.0.1:{closed_port()}/w.bin"], sha256(BODY))
    with pytest.raises(UserError) as error:
        fetching.require([os.path.join(nets, "demo/weights.bin")], root=nets, progress=False, models=[demo])
    assert "\n" not in str(error.value) and str(error.value).startswith("demo: ")
    assert str(error.value).endswith("put it in place with: nets/download.sh --install demo PATH/TO/weights.bin")
    assert "fetch it with" not in str(error.value)  # running the same fetch again would only fail again


def test_require_names_a_missing_file_the_registry_does_not_provide(nets):
    with pytest.raises(UserError, match="not a file that nets/download.sh provides"):
        fetching.require([os.path.join(nets, "mine.caffemodel")], root=nets)


# --- a corrupt copy is fetched again ----------------------------------------

def tamper(path):
    with open(path, "r+b") as f:
        f.write(b"x")


def test_a_corrupt_file_is_fetched_again_and_the_bad_copy_kept_aside(served, nets):
    demo = one_file_model([publish(served, "w.bin", BODY)], sha256(BODY))
    path = os.path.join(nets, "demo/weights.bin")
    fetching.fetch(demo, root=nets, progress=False)
    tamper(path)
    assert fetching.fetch(demo, root=nets, progress=False) == [path]
    assert open(path, "rb").read() == BODY
    assert open(path + ".bad", "rb").read() == b"x" + BODY[1:]
    assert fetching.state(demo.files[0], nets) == "ok"


def test_require_fetches_a_corrupt_file_again(served, nets):
    demo = one_file_model([publish(served, "w.bin", BODY)], sha256(BODY))
    path = os.path.join(nets, "demo/weights.bin")
    fetching.fetch(demo, root=nets, progress=False)
    tamper(path)
    fetching.require([path], root=nets, progress=False, models=[demo])
    assert open(path, "rb").read() == BODY


def test_require_offline_names_a_corrupt_file_and_leaves_it(served, nets):
    demo = one_file_model([publish(served, "w.bin", BODY)], sha256(BODY))
    path = os.path.join(nets, "demo/weights.bin")
    fetching.fetch(demo, root=nets, progress=False)
    tamper(path)
    asked = len(served.requests)
    with pytest.raises(UserError) as error:
        fetching.require([path], offline=True, root=nets, models=[demo])
    assert str(error.value) == (f"demo: {path} is corrupt (its checksum is not the registry's) and downloads are "
                                "off (offline); fetch it with: nets/download.sh demo")
    assert open(path, "rb").read() == b"x" + BODY[1:] and len(served.requests) == asked


# --- other ways: mirrors, nets/download.sh's report, --install ----------------

def sha1(data):
    return "sha1:" + hashlib.sha1(data).hexdigest()


@pytest.fixture
def second(tmp_path, loopback):
    """Another loopback server, standing in for a mirror host."""
    yield from serving(loopback, tmp_path / "mirror")


def mirrored_model(name, upstream, mirror, checksums):
    return catalogue.Model(name, "a mirrored model", "none",
                           (catalogue.File(f"{name}/w.bin", (upstream,), None, checksums, mirrors=(mirror,)),))


def test_the_mirror_is_tried_after_a_failing_upstream_with_both_checksums(served, second, nets):
    mirror = publish(second, "w.bin", BODY)
    demo = mirrored_model("demo", f"{served.url}/gone/w.bin", mirror, (sha1(BODY), sha256(BODY)))
    assert fetching.fetch(demo, root=nets, progress=False) == [os.path.join(nets, "demo/w.bin")]
    assert served.requests == [("/gone/w.bin", None)] and second.requests == [("/w.bin", None)]
    assert fetching.state(demo.files[0], nets) == "ok"


@pytest.mark.parametrize("wrong", ["sha1", "sha256"])
def test_a_file_matching_only_one_of_its_checksums_is_refused(served, nets, wrong):
    url = publish(served, "w.bin", BODY)
    checksums = (sha1(b"other") if wrong == "sha1" else sha1(BODY),
                 sha256(b"other") if wrong == "sha256" else sha256(BODY))
    with pytest.raises(UserError, match=f"checksum mismatch: {wrong} "):
        fetching.fetch(catalogue.Model("demo", "", "", (catalogue.File("demo/w.bin", (url,), None, checksums),)),
                       root=nets, progress=False)
    assert not os.path.exists(os.path.join(nets, "demo/w.bin"))


def test_prefinput_mirror_replaces_the_upstream_and_the_mirror_hosts(served, nets, monkeypatch):
    os.makedirs(os.path.join(served.root, "mirror.example/omz"))
    publish(served, "mirror.example/omz/w.bin", BODY)
    demo = mirrored_model("demo", "http://upstream.example/w.bin", "https://mirror.example/omz/w.bin", (sha256(BODY),))
    monkeypatch.setenv("PREFINPUT_MIRROR", served.url)
    fetching.fetch(demo, root=nets, progress=False)
    assert served.requests == [("/upstream.example/w.bin", None), ("/mirror.example/omz/w.bin", None)]


@pytest.fixture
def registry(served, second, monkeypatch):
    """nets/download.sh's main on a registry of three models: `good`, `lost`
    (one host, 404) and `mirrored` (upstream and mirror both 404)."""
    good = catalogue.Model("good", "", "", (catalogue.File("good/w.bin", (publish(served, "w.bin", BODY),), None,
                                                     (sha256(BODY),)),))
    lost = catalogue.Model("lost", "", "", (catalogue.File("lost/w.bin", (f"{served.url}/lost/w.bin",), 10, (sha256(b"x"),)),))
    mirrored = mirrored_model("mirrored", f"{served.url}/up/w.bin", f"{second.url}/w.bin", (sha256(BODY),))
    monkeypatch.setattr(catalogue, "MODELS", (lost, good, mirrored))
    return lost, good, mirrored


def test_download_sh_fetches_every_name_and_reports_every_failure_at_the_end(registry, nets, monkeypatch, capsys):
    monkeypatch.setenv("NETS_DIR", nets)
    assert command.main(["lost", "good", "mirrored", "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert out == "good: fetched 1 file(s)\n"
    lost, mirrored = err.splitlines()
    assert lost.startswith("nets/download.sh: error: lost: http://") and "HTTP 404" in lost
    assert lost.endswith("no other address is known for it; point PREFINPUT_MIRROR at a copy of the hosts "
                         "(see docs/nets.md), or get w.bin elsewhere and put it in place with: "
                         "nets/download.sh --install lost PATH/TO/w.bin")
    assert mirrored.startswith("nets/download.sh: error: mirrored: ") and mirrored.count("HTTP 404") == 2
    assert "no other address" not in mirrored and "PREFINPUT_MIRROR" in mirrored
    assert "fetch it with" not in err
    assert command.main(["all", "--quiet"]) == 1  # `all` goes on past failures too
    assert capsys.readouterr().out == "good: all files present\n"


def test_download_sh_list_shows_sizes_on_disk_and_fails_while_anything_is_missing(registry, nets, monkeypatch,
                                                                                   capsys):
    lost, good, mirrored = registry
    monkeypatch.setenv("NETS_DIR", nets)
    fetching.fetch(good, root=nets, progress=False)
    os.makedirs(os.path.join(nets, "lost"))
    open(os.path.join(nets, "lost/w.bin"), "wb").close()
    assert command.main(["--list"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == f"  corrupt    {'0 B':>11}  lost/w.bin"
    assert lines[4] == f"  ok         {'3.0 MB':>11}  good/w.bin"
    assert lines[6] == f"  missing    {'(?)':>11}  mirrored/w.bin"
    monkeypatch.setattr(catalogue, "MODELS", (good,))
    assert command.main(["--list"]) == 0


def test_download_sh_offline_fetches_nothing_and_names_each_missing_file(registry, served, nets, monkeypatch,
                                                                        capsys):
    lost, good, mirrored = registry
    monkeypatch.setenv("NETS_DIR", nets)
    monkeypatch.setenv("PREFINPUT_OFFLINE", "1")
    assert command.main(["all"]) == 1
    out, err = capsys.readouterr()
    assert served.requests == [] and out == ""
    assert err.splitlines() == [
        f"nets/download.sh: error: {name}: {os.path.join(nets, name, 'w.bin')} is missing and downloads are off "
        "(PREFINPUT_OFFLINE); unset it to fetch, or see nets/download.sh --install" for name in ("lost", "good", "mirrored")]


def test_install_puts_a_verified_copy_in_place(registry, tmp_path, nets, monkeypatch, capsys):
    monkeypatch.setenv("NETS_DIR", nets)
    (tmp_path / "w.bin").write_bytes(BODY)
    assert command.main(["--install", "mirrored", str(tmp_path / "w.bin")]) == 0
    assert capsys.readouterr().out == f"mirrored: installed {os.path.join(nets, 'mirrored/w.bin')}\n"
    assert open(os.path.join(nets, "mirrored/w.bin"), "rb").read() == BODY
    assert sorted(os.listdir(os.path.join(nets, "mirrored"))) == ["w.bin"]


def test_install_refuses_a_mismatch_in_one_line_and_installs_nothing(registry, tmp_path, nets, monkeypatch):
    monkeypatch.setenv("NETS_DIR", nets)
    (tmp_path / "w.bin").write_bytes(b"not the weights")
    with pytest.raises(UserError) as error:
        command.main(["--install", "mirrored", str(tmp_path / "w.bin")])
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"--install mirrored {tmp_path / 'w.bin'}: checksum mismatch")
    assert message.endswith("it is not the registry's mirrored/w.bin, nothing was installed")
    assert os.listdir(os.path.join(nets, "mirrored")) == []
    with pytest.raises(UserError, match=r"other\.bin is not one of mirrored's files \(w\.bin\)"):
        (tmp_path / "other.bin").write_bytes(BODY)
        command.main(["--install", "mirrored", str(tmp_path / "other.bin")])


def test_install_of_an_archive_extracts_it_and_records_unknown_checksums(tmp_path, nets, monkeypatch, capsys):
    (tmp_path / "a.zip").write_bytes(zip_bytes({"release/w.bin": BODY}))
    packed = archive_model("http://127.0.0.1:9/a.zip", "a.zip", ["release/w.bin"])
    monkeypatch.setattr(catalogue, "MODELS", (packed,))
    monkeypatch.setenv("NETS_DIR", nets)
    assert command.main(["--install", "packed", str(tmp_path / "a.zip")]) == 0
    assert open(os.path.join(nets, "packed/w.bin"), "rb").read() == BODY
    assert set(fetching.recorded(nets)) == {"downloads/a.zip", "packed/w.bin"}
    assert os.listdir(os.path.join(nets, "downloads")) == []


# --- weights with no published checksum: checked before their hash is pinned ---

@pytest.fixture
def tiny_model(tiny, served):
    """A registry model of the tiny classifier: its definition published with
    its checksum, its weights with none."""
    definition = open(tiny["classifier"][0], "rb").read()
    return catalogue.Model("tinynet", "the tiny classifier", "none", (
        catalogue.File("tinynet/classifier.prototxt", (publish(served, "classifier.prototxt", definition),), None,
                       (sha256(definition),)),
        catalogue.File("tinynet/classifier.caffemodel", (f"{served.url}/classifier.caffemodel",))))


def test_install_refuses_weights_that_do_not_fit_their_definition(tiny_model, tiny, tmp_path, nets, monkeypatch):
    pytest.importorskip("caffe", reason="pycaffe is not importable (run make setup)")
    monkeypatch.setattr(catalogue, "MODELS", (tiny_model,))
    monkeypatch.setenv("NETS_DIR", nets)
    for name, data in (("random bytes", os.urandom(5000)), ("the generator's weights", open(tiny["generator"][1], "rb").read())):
        (tmp_path / "classifier.caffemodel").write_bytes(data)
        with pytest.raises(UserError, match=r"^--install tinynet \S*classifier\.caffemodel: tinynet/classifier\.caffemodel "
                                            r"is not weights for tinynet: .*, nothing was installed$") as error:
            command.main(["--install", "tinynet", str(tmp_path / "classifier.caffemodel")])
        assert "\n" not in str(error.value), name
        assert fetching.recorded(nets) == {} and not os.path.exists(os.path.join(nets, "tinynet/classifier.caffemodel"))
    (tmp_path / "classifier.caffemodel").write_bytes(open(tiny["classifier"][1], "rb").read())
    assert command.main(["--install", "tinynet", str(tmp_path / "classifier.caffemodel")]) == 0
    assert set(fetching.recorded(nets)) == {"tinynet/classifier.caffemodel"}


def test_downloaded_weights_that_do_not_fit_are_kept_aside_and_not_pinned(tiny_model, tiny, served, nets):
    pytest.importorskip("caffe", reason="pycaffe is not importable (run make setup)")
    publish(served, "classifier.caffemodel", os.urandom(5000))
    with pytest.raises(UserError, match=r"tinynet/classifier\.caffemodel is not weights for tinynet: .*; kept aside as "
                                        r"\S*classifier\.caffemodel\.bad"):
        fetching.fetch(tiny_model, root=nets, progress=False)
    assert fetching.recorded(nets) == {}
    assert sorted(os.listdir(os.path.join(nets, "tinynet"))) == ["classifier.caffemodel.bad", "classifier.prototxt"]
    publish(served, "classifier.caffemodel", open(tiny["classifier"][1], "rb").read())
    fetching.fetch(tiny_model, root=nets, progress=False)
    assert set(fetching.recorded(nets)) == {"tinynet/classifier.caffemodel"}
