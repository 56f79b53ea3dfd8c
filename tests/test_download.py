"""Downloads on loopback: atomic, resumable, verified, and one-line failures."""
import hashlib
import io
import os
import socket
import tarfile
import zipfile

import pytest

from prefinput import download, models
from prefinput.cli import UserError


@pytest.fixture
def served(tmp_path, loopback):
    """A loopback HTTP server of tmp_path/www."""
    (tmp_path / "www").mkdir()
    server = loopback(tmp_path / "www")
    yield server
    server.close()


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
    return models.Model("demo", "a test model", "none", (models.File(dest, tuple(urls), None, checksum),))


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
    assert models.fetch(one_file_model([url], sha256(BODY)), root=nets, progress=False) == [dest]
    assert open(dest, "rb").read() == BODY
    assert renames == [(dest + ".part", dest, False)]
    assert sorted(os.listdir(os.path.dirname(dest))) == ["weights.bin"]


def test_progress_bar_goes_to_stderr(served, nets, capfd):
    url = publish(served, "w.bin", BODY)
    models.fetch(one_file_model([url], sha256(BODY)), root=nets)
    captured = capfd.readouterr()
    assert "demo/weights.bin" in captured.err and "100%" in captured.err
    assert captured.out == ""


def test_interrupted_download_resumes_with_a_range_request(served, nets):
    url = publish(served, "w.bin", BODY)
    served.cuts["/w.bin"] = 2 * download.CHUNK + 7
    models.fetch(one_file_model([url], sha256(BODY)), root=nets, progress=False)
    assert open(os.path.join(nets, "demo/weights.bin"), "rb").read() == BODY
    assert served.requests == [("/w.bin", None), ("/w.bin", f"bytes={2 * download.CHUNK + 7}-")]


def test_interrupted_download_restarts_when_the_server_ignores_ranges(served, nets):
    url = publish(served, "w.bin", BODY)
    served.cuts["/w.bin"], served.ranges = 1000, False
    models.fetch(one_file_model([url], sha256(BODY)), root=nets, progress=False)
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
        models.fetch(demo, root=nets, progress=False)
    dest = os.path.join(nets, "demo/weights.bin")
    assert not os.path.exists(dest) and os.path.getsize(dest + ".part") == 5000
    assert models.state(demo.files[0], nets) == "partial"
    models.fetch(demo, root=nets, progress=False)
    assert open(dest, "rb").read() == BODY
    assert served.requests[-1] == ("/w.bin", "bytes=5000-")


def test_checksum_mismatch_is_refused_in_one_line_and_kept_aside(served, nets):
    url = publish(served, "w.bin", BODY)
    with pytest.raises(UserError) as error:
        models.fetch(one_file_model([url], sha256(b"something else")), root=nets, progress=False)
    message = str(error.value)
    dest = os.path.join(nets, "demo/weights.bin")
    assert "\n" not in message
    assert message.startswith("demo: ") and "checksum mismatch" in message and "nets/download.sh demo" in message
    assert dest + ".bad" in message
    assert not os.path.exists(dest) and not os.path.exists(dest + ".part")
    assert open(dest + ".bad", "rb").read() == BODY


def test_a_mismatch_on_the_primary_falls_back_to_the_alternative(served, nets):
    bad, good = publish(served, "bad.bin", b"tampered"), publish(served, "good.bin", BODY)
    models.fetch(one_file_model([bad, good], sha256(BODY)), root=nets, progress=False)
    assert open(os.path.join(nets, "demo/weights.bin"), "rb").read() == BODY


def test_404_names_the_model_and_every_alternative(served, nets):
    urls = [f"{served.url}/primary/w.bin", f"{served.url}/mirror/w.bin"]
    with pytest.raises(UserError) as error:
        models.fetch(one_file_model(urls, sha256(BODY)), root=nets, progress=False)
    message = str(error.value)
    assert "\n" not in message and message.startswith("demo: ")
    assert all(f"{url}: HTTP 404" in message for url in urls)
    assert "fetch it with: nets/download.sh demo" in message
    assert os.listdir(os.path.join(nets, "demo")) == []


def test_unreachable_host_names_the_model_and_the_alternatives(served, nets):
    dead = f"http://127.0.0.1:{closed_port()}/w.bin"
    alternative = f"{served.url}/missing.bin"
    with pytest.raises(UserError) as error:
        models.fetch(one_file_model([dead, alternative], sha256(BODY)), root=nets, progress=False)
    message = str(error.value)
    assert "\n" not in message
    assert f"{dead}: Connection refused" in message and f"{alternative}: HTTP 404" in message
    assert "nets/download.sh demo" in message


def test_second_run_downloads_nothing(served, nets):
    demo = one_file_model([publish(served, "w.bin", BODY)], sha256(BODY))
    assert len(models.fetch(demo, root=nets, progress=False)) == 1
    asked = len(served.requests)
    assert models.fetch(demo, root=nets, progress=False) == []
    assert len(served.requests) == asked


def test_unknown_checksum_is_recorded_at_first_download_and_enforced_later(served, nets):
    url = publish(served, "w.bin", BODY)
    demo = one_file_model([url])
    models.fetch(demo, root=nets, progress=False)
    assert models.recorded(nets) == {"demo/weights.bin": sha256(BODY)}
    assert models.state(demo.files[0], nets) == "ok"
    os.remove(os.path.join(nets, "demo/weights.bin"))
    publish(served, "w.bin", b"changed upstream")
    with pytest.raises(UserError, match="checksum mismatch"):
        models.fetch(demo, root=nets, progress=False)


def test_corrupt_file_is_listed_as_corrupt(served, nets):
    demo = one_file_model([publish(served, "w.bin", BODY)], sha256(BODY))
    models.fetch(demo, root=nets, progress=False)
    with open(os.path.join(nets, "demo/weights.bin"), "r+b") as f:
        f.write(b"x")
    assert models.listing(nets, [demo]) == ["demo: a test model. Licence: none",
                                            f"  corrupt    {'?':>9}  demo/weights.bin"]


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
    archive = models.Archive(name, (url,))
    return models.Model("packed", "a test archive", "none", tuple(
        models.File(f"packed/{member.split('/')[-1]}", archive=archive, member=member) for member in members))


@pytest.mark.parametrize("pack, name", [(zip_bytes, "a.zip"), (tar_bytes, "a.tar.gz")])
def test_archive_members_are_extracted_and_the_archive_removed(served, nets, pack, name):
    url = publish(served, name, pack({"release/fc6/generator.caffemodel": BODY, "release/fc7/other.caffemodel": b"7"}))
    packed = archive_model(url, name, ["release/fc6/generator.caffemodel", "other.caffemodel"])
    models.fetch(packed, root=nets, progress=False)
    assert open(os.path.join(nets, "packed/generator.caffemodel"), "rb").read() == BODY
    assert open(os.path.join(nets, "packed/other.caffemodel"), "rb").read() == b"7"
    assert os.listdir(os.path.join(nets, "downloads")) == []
    assert set(models.recorded(nets)) == {f"downloads/{name}", "packed/generator.caffemodel", "packed/other.caffemodel"}


@pytest.mark.parametrize("pack, name", [(zip_bytes, "a.zip"), (tar_bytes, "a.tar.gz")])
@pytest.mark.parametrize("evil", ["/etc/evil", "release/../../evil", "../evil"])
def test_archives_with_absolute_or_dotdot_members_are_rejected(served, nets, pack, name, evil):
    url = publish(served, name, pack({"release/w.bin": BODY, evil: b"gotcha"}))
    with pytest.raises(UserError, match="refused: it holds an absolute or '..' path") as error:
        models.fetch(archive_model(url, name, ["release/w.bin"]), root=nets, progress=False)
    assert "\n" not in str(error.value)
    assert not os.path.exists(os.path.join(nets, "packed", "w.bin"))
    assert not os.path.exists(os.path.join(os.path.dirname(nets), "evil"))


def test_tar_member_that_is_a_link_is_rejected(served, nets):
    url = publish(served, "a.tar.gz", tar_bytes({}, symlink=("w.bin", "/etc/passwd")))
    with pytest.raises(UserError, match="not a plain file"):
        models.fetch(archive_model(url, "a.tar.gz", ["w.bin"]), root=nets, progress=False)
    assert not os.path.lexists(os.path.join(nets, "packed", "w.bin"))


def test_unsafe_member_names():
    assert all(map(download.unsafe_member, ["/abs", "\\abs", "C:/x", "a/../b", "..", "a\\..\\b"]))
    assert not any(map(download.unsafe_member, ["a/b", "./a", "a..b/c", "..a"]))


# --- require: what the example scripts call --------------------------------

def test_require_fetches_what_is_missing(served, nets):
    demo = one_file_model([publish(served, "w.bin", BODY)], sha256(BODY))
    path = os.path.join(nets, "demo/weights.bin")
    models.require([path], root=nets, progress=False, models=[demo])
    assert open(path, "rb").read() == BODY


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_require_offline_stops_with_the_fetch_command(served, nets, monkeypatch, how):
    demo = one_file_model([publish(served, "w.bin", BODY)], sha256(BODY))
    path = os.path.join(nets, "demo/weights.bin")
    if how == "environment":
        monkeypatch.setenv("PREFINPUT_OFFLINE", "1")
    with pytest.raises(UserError) as error:
        models.require([path], offline=how == "flag", root=nets, models=[demo])
    assert str(error.value) == (f"demo: {path} is missing and downloads are off (offline); "
                                "fetch it with: nets/download.sh demo")
    assert served.requests == []


def test_require_failure_is_one_line_with_the_fetch_command(nets):
    demo = one_file_model([f"http://127.0.0.1:{closed_port()}/w.bin"], sha256(BODY))
    with pytest.raises(UserError) as error:
        models.require([os.path.join(nets, "demo/weights.bin")], root=nets, progress=False, models=[demo])
    assert "\n" not in str(error.value)
    assert str(error.value).startswith("demo: ") and str(error.value).endswith("fetch it with: nets/download.sh demo")


def test_require_names_a_missing_file_the_registry_does_not_provide(nets):
    with pytest.raises(UserError, match="not a file that nets/download.sh provides"):
        models.require([os.path.join(nets, "mine.caffemodel")], root=nets)


# --- a corrupt copy is fetched again ----------------------------------------

def tamper(path):
    with open(path, "r+b") as f:
        f.write(b"x")


def test_a_corrupt_file_is_fetched_again_and_the_bad_copy_kept_aside(served, nets):
    demo = one_file_model([publish(served, "w.bin", BODY)], sha256(BODY))
    path = os.path.join(nets, "demo/weights.bin")
    models.fetch(demo, root=nets, progress=False)
    tamper(path)
    assert models.fetch(demo, root=nets, progress=False) == [path]
    assert open(path, "rb").read() == BODY
    assert open(path + ".bad", "rb").read() == b"x" + BODY[1:]
    assert models.state(demo.files[0], nets) == "ok"


def test_require_fetches_a_corrupt_file_again(served, nets):
    demo = one_file_model([publish(served, "w.bin", BODY)], sha256(BODY))
    path = os.path.join(nets, "demo/weights.bin")
    models.fetch(demo, root=nets, progress=False)
    tamper(path)
    models.require([path], root=nets, progress=False, models=[demo])
    assert open(path, "rb").read() == BODY


def test_require_offline_names_a_corrupt_file_and_leaves_it(served, nets):
    demo = one_file_model([publish(served, "w.bin", BODY)], sha256(BODY))
    path = os.path.join(nets, "demo/weights.bin")
    models.fetch(demo, root=nets, progress=False)
    tamper(path)
    asked = len(served.requests)
    with pytest.raises(UserError) as error:
        models.require([path], offline=True, root=nets, models=[demo])
    assert str(error.value) == (f"demo: {path} is corrupt (its checksum is not the registry's) and downloads are "
                                "off (offline); fetch it with: nets/download.sh demo")
    assert open(path, "rb").read() == b"x" + BODY[1:] and len(served.requests) == asked
