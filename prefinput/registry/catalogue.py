"""The one registry of every model and data file the original programs used,
and the lookups in it.

Each file has its upstream URLs (primary first, then the alternatives the
originals' download scripts name), mirrors tried after them, its size, its
checksums (all must match) and where it goes under settings.nets_dir.
Prototxts and data files come from the original GitHub repositories at
pinned commits.  Fetching them is prefinput.registry.fetching's job, the
command line (nets/download.sh) prefinput.registry.command's.
PREFINPUT_FETCH_COMMAND names the command in hints (default
nets/download.sh; the Docker image has it on the PATH).
"""
import os
from dataclasses import dataclass

from prefinput.environment import setting
from prefinput.errors import UserError

FETCH_COMMAND = os.environ.get("PREFINPUT_FETCH_COMMAND") or "nets/download.sh"

REPOS = {  # short name: (GitHub repository, pinned commit)
    "synthesizing": ("Evolving-AI-Lab/synthesizing", "eb7f2e7c6a59476e6dd87eec6e66e847f8ad5a58"),
    "ppgn": ("Evolving-AI-Lab/ppgn", "f0dbbad4266c599a9840d9a2e5583c75c883b9b2"),
    "cnnpref": ("KamitaniLab/cnnpref", "3fd0e2d64afa866d5b2ce1b72cf67a833c93321b"),
    "cnn-vis": ("jcjohnson/cnn-vis", "4f8bb850b30ab7fc187751df08efcd9aa885491c"),
    "caffe": ("BVLC/caffe", "99bd99795dcdf0b1d3086a8d67ab1782a8a08383"),
}
RAW = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class Archive:
    """A zip or tar file that some registry files are extracted from."""
    name: str
    urls: tuple
    size: int = None
    checksums: tuple = ()  # "sha256:<hex>", "sha1:<hex>"; none: recorded at first download


@dataclass(frozen=True)
class File:
    dest: str            # relative to nets_dir
    urls: tuple = ()     # primary first; empty for a member of `archive`
    size: int = None
    checksums: tuple = ()
    archive: Archive = None
    member: str = None   # path in the archive (or a base name found once in it)
    mirrors: tuple = ()  # copies away from the upstream hosts, tried after `urls`


@dataclass(frozen=True)
class Model:
    name: str
    about: str
    licence: str
    files: tuple


def github(repo, path):
    """The raw URL of `path` in one of REPOS at its pinned commit."""
    full, commit = REPOS[repo]
    return f"{RAW}/{full}/{commit}/{path}"


def _repo_file(dest, sha256, size, *sources):
    """A file from the original repositories; sources are "repo:path", primary first."""
    return File(dest, tuple(github(*source.split(":", 1)) for source in sources), size, ("sha256:" + sha256,))


def _act_range(name, sha256, size):
    return _repo_file(f"data/act_range/{name}", sha256, size,
                      f"synthesizing:act_range/{name}", f"cnnpref:data/act_range/{name}")


def _example(repo, name, sha256, size):
    return _repo_file(f"data/examples/{repo}/{name}", sha256, size, f"{repo}:examples/{name}")


BVLC = "http://dl.caffe.berkeleyvision.org"
# The OpenVINO Open Model Zoo's copies (its 2022.1 model.yml files); the sha256s
# beside the model zoo's SHA-1s are the ones its earlier model.yml files publish
OMZ = "https://storage.openvinotoolkit.org/repositories/open_model_zoo/public/2022.1"
BVLC_LICENCE = "BVLC model zoo: released for unrestricted use (BVLC/caffe models/*/readme.md)"
PLACES_LICENCE = "MIT Places (Zhou et al. 2014); terms at http://places.csail.mit.edu/downloadCNN.html"
DEEPSIM = Archive("release_deepsim_v0.zip", (
    "https://lmb.informatik.uni-freiburg.de/resources/binaries/arxiv2016_alexnet_inversion_with_gans/"
    "release_deepsim_v0.zip",
    "http://s.anhnguyen.me/release_deepsim_v0.zip"))
PLACES_ALEXNET = Archive("placesCNN.tar.gz", ("http://places.csail.mit.edu/model/placesCNN.tar.gz",))
PLACES_GOOGLENET = Archive("googlenet_places205.tar.gz",
                           ("http://places.csail.mit.edu/model/googlenet_places205.tar.gz",))

MODELS = (
    Model("caffenet", "CaffeNet (bvlc_reference_caffenet): DGN-AM's and PPGN's classifier and encoder",
          BVLC_LICENCE, (
              _repo_file("caffenet/caffenet.prototxt", "ce4766de5e8c9453176d69896b2159fcabc3e55d2f082bfb3c8903f64ee1538a",
                         4524, "synthesizing:nets/caffenet/caffenet.prototxt"),
              # PPGN's copy adds a Log layer after prob
              _repo_file("caffenet/caffenet_ppgn.prototxt", "645f0a55b02ce0c46b40f0bd0454a78a3b0a4a27af743b41ffcbead0b6a9ee39",
                         4592, "ppgn:nets/caffenet/caffenet.prototxt"),
              File("caffenet/bvlc_reference_caffenet.caffemodel", (f"{BVLC}/bvlc_reference_caffenet.caffemodel",),
                   243862418, ("sha1:4c8d77deb20ea792f84eb5e6d0a11ca0a8660a46",
                               "sha256:472d4a06035497b180636d8a82667129960371375bd10fcb6df5c6c7631f25e0"),
                   mirrors=(f"{OMZ}/caffenet/bvlc_reference_caffenet.caffemodel",)))),
    Model("googlenet", "GoogLeNet (bvlc_googlenet): DGN-AM example 5 and cnn-vis", BVLC_LICENCE, (
        _repo_file("googlenet/bvlc_googlenet_updated.prototxt",
                   "7bfcb537b891b99806e605d2cfddba8ff7cf6278f0cbe4ede0c3d09c334f13f2", 35836,
                   "synthesizing:nets/googlenet/bvlc_googlenet_updated.prototxt"),
        # cnn-vis's default, $CAFFE_ROOT/models/bvlc_googlenet/deploy.prototxt
        _repo_file("googlenet/deploy.prototxt", "fa36cd4112a3240a29600a5aa35333f31bec33daa1a6085b0af308a9f50f0c50",
                   35862, "caffe:models/bvlc_googlenet/deploy.prototxt"),
        File("googlenet/bvlc_googlenet.caffemodel", (f"{BVLC}/bvlc_googlenet.caffemodel",),
             53533754, ("sha1:405fc5acd08a3bb12de8ee5e23a96bec22f08204",
                        "sha256:6f7101e3a2183738a7125a0c5021ba82a1feb4228c5ca0924d991b6daf6f6fad"),
             mirrors=(f"{OMZ}/googlenet-v1/bvlc_googlenet.caffemodel",)))),
    Model("alexnet", "AlexNet (bvlc_alexnet): cnnpref's examples", BVLC_LICENCE, (
        _repo_file("alexnet/bvlc_alexnet.prototxt", "e7d87edf6f3f0b1694b4f605ab1927c18179cb0c2812290ab1cd6322f7f14be0",
                   3899, "cnnpref:net/bvlc_alexnet/bvlc_alexnet.prototxt"),
        File("alexnet/bvlc_alexnet.caffemodel", (f"{BVLC}/bvlc_alexnet.caffemodel",),
             243862414, ("sha1:9116a64c0fbe4459d18f4bb6b56d647b63920377",
                         "sha256:4bff209a9837298157915ef50a4831a59636a6ca1a6b8ebacd990c3a5f3053e0"),
             mirrors=(f"{OMZ}/alexnet/bvlc_alexnet.caffemodel",)))),
    Model("placesCNN", "AlexNet trained on MIT Places205: DGN-AM examples 2 and 4, PPGN example 4",
          PLACES_LICENCE, (
              _repo_file("placesCNN/places205CNN_deploy_updated.prototxt",
                         "8aabcb90cee5a9cb3da1a7375c83fd62e93cf1fbedbabbc2fe5078101fd9601d", 4514,
                         "synthesizing:nets/placesCNN/places205CNN_deploy_updated.prototxt",
                         "ppgn:nets/placesCNN/places205CNN_deploy_updated.prototxt"),
              File("placesCNN/places205CNN_iter_300000.caffemodel", archive=PLACES_ALEXNET,
                   member="places205CNN_iter_300000.caffemodel"))),
    Model("googlenet_places", "GoogLeNet trained on MIT Places205: cnn-vis examples", PLACES_LICENCE, (
        File("googlenet_places/deploy_places205.protxt", archive=PLACES_GOOGLENET, member="deploy_places205.protxt"),
        File("googlenet_places/googlelet_places205_train_iter_2400000.caffemodel", archive=PLACES_GOOGLENET,
             member="googlelet_places205_train_iter_2400000.caffemodel"))),
    Model("vgg19", "VGG-19 (VGG_ILSVRC_19_layers): cnnpref",
          "CC BY-NC 4.0, non-commercial use only (Simonyan & Zisserman)", (
              _repo_file("vgg19/VGG_ILSVRC_19_layers.prototxt",
                         "15eb1afd85d2eaca764388da1fee49f4d3bb515c56d6513dd59541b83a1ceed6", 5536,
                         "cnnpref:net/VGG_ILSVRC_19_layers/VGG_ILSVRC_19_layers.prototxt"),
              File("vgg19/VGG_ILSVRC_19_layers.caffemodel", (
                  "http://www.robots.ox.ac.uk/~vgg/software/very_deep/caffe/VGG_ILSVRC_19_layers.caffemodel",
                  "https://www.robots.ox.ac.uk/~vgg/software/very_deep/caffe/VGG_ILSVRC_19_layers.caffemodel"),
                  574671192, ("sha256:31b4c627c40c6ee151325f079b7ac557fddbd1f79af932888796127a4f4f6954",),
                  mirrors=(f"{OMZ}/vgg19/VGG_ILSVRC_19_layers.caffemodel",)))),
    Model("upconv", "Up-convolutional generators inverting pool5, fc6, fc7 (Dosovitskiy & Brox 2016): "
          "DGN-AM and cnnpref", "research use only; commercial use needs the authors' consent "
          "(University of Freiburg terms of use)", (
              _repo_file("upconv/pool5/generator.prototxt",
                         "0c3f35c0e0464cf8d818f1e57d73a654adfceabe6701fa3b3af3c8895d7fef40", 4961,
                         "synthesizing:nets/upconv/pool5/generator.prototxt"),
              _repo_file("upconv/fc6/generator.prototxt",
                         "af60249fd3125a2f03934652f5bd1539235d15fa045e53c88f9ae44fb2bea06e", 5039,
                         "synthesizing:nets/upconv/fc6/generator.prototxt",
                         "ppgn:nets/generator/noiseless/generator.prototxt"),
              _repo_file("upconv/fc6/generator_160.prototxt",
                         "23ccfa42b03113c19ffa9fe9feb41321d3232dacba74e6d6199d6796e12d5fe7", 5042,
                         "synthesizing:nets/upconv/fc6/generator_160.prototxt"),
              # cnnpref's copy: out-of-place ReLUs, output blob "generated"
              _repo_file("upconv/fc6/generator_cnnpref.prototxt",
                         "72217a8ad8544adec62f58c65e5396af481dd6731f4e9e22fc3c3540b7b9cf35", 5182,
                         "cnnpref:net/generator_for_inverting_fc6/generator.prototxt"),
              _repo_file("upconv/fc7/generator.prototxt",
                         "320ff209847306b31f1a880f1dbff1b1c9cbb39801c3ac6a169aed8fb1e6d897", 5038,
                         "synthesizing:nets/upconv/fc7/generator.prototxt"),
              *(File(f"upconv/{layer}/generator.caffemodel", archive=DEEPSIM,
                     member=f"release_deepsim_v0/{layer}/generator.caffemodel") for layer in ("pool5", "fc6", "fc7")))),
    Model("ppgn_generator", "PPGN's noiseless joint generator (Nguyen et al. 2017)",
          "released with Evolving-AI-Lab/ppgn; check its README's licence note before use", (
              _repo_file("generator/noiseless/generator.prototxt",
                         "af60249fd3125a2f03934652f5bd1539235d15fa045e53c88f9ae44fb2bea06e", 5039,
                         "ppgn:nets/generator/noiseless/generator.prototxt",
                         "synthesizing:nets/upconv/fc6/generator.prototxt"),
              _repo_file("generator/noiseless/example_generator_batchsize.prototxt",
                         "531d2ddaa22ab23a7aa5071d397e9266c442b377be8071226ef9e45d501f143d", 5103,
                         "ppgn:nets/generator/noiseless/example_generator_batchsize.prototxt"),
              File("generator/noiseless/generator.caffemodel", ("http://s.anhnguyen.me/181007__generator.caffemodel",)))),
    Model("lrcn", "LRCN image captioning model (Donahue et al. 2015): PPGN example 5",
          "released by the LRCN and PPGN authors; check their licence notes before use", (
              _repo_file("lrcn/lrcn_word_to_preds.deploy.prototxt",
                         "831fd97cf96b4b224a40205799b5cc7698160e99692fa0a6455d847bbc57e165", 1131,
                         "ppgn:nets/lrcn/lrcn_word_to_preds.deploy.prototxt"),
              File("lrcn/lrcn_caffenet_iter_110000.caffemodel",
                   ("http://www.cs.uwyo.edu/~anguyen8/share/lrcn_caffenet_iter_110000.caffemodel",)))),
    Model("act_range", "Activation upper bounds of CaffeNet's units (DGN-AM --bound, cnnpref)",
          "MIT (Evolving-AI-Lab/synthesizing)", tuple(_act_range(*entry) for entry in (
              ("README.md", "ae7170d2e2b7a653d6bf6eb341d49a42f47049bedd37ef9b386fde503c4d1c82", 782),
              ("1x/conv3.txt", "6d07a7e2a831547f2eb4d758b52c13b0bd3a64a764a513c22b0d35def32477d6", 192696),
              ("1x/conv5.txt", "231de678317132a459a1a14f2e58071f6d02731ce40252b5609ad63fe1d36808", 27581),
              ("1x/fc6.txt", "39040cecb2292fbe544547e001b98e953f9d7a246ed241b01e77ed852315ac3b", 8192),
              ("1x/fc7.txt", "c44e618203457399956380e626c89b195cda87cf5b4b4c35083d6447ede7b33d", 8192),
              ("1x/fc8.txt", "46a59af99de4fd61ed28644fc9828ffaf081d3a1f4f403d923f9b8789afe57d4", 2000),
              ("1x/pool5.txt", "231de678317132a459a1a14f2e58071f6d02731ce40252b5609ad63fe1d36808", 27581),
              ("2x/conv3.txt", "413c68296492150d6ab069ef69af402f26c9d9b624afe8488f74c50d654af09d", 194450),
              ("2x/conv5.txt", "36d49686fc1ca67974c304b84ac0f1018ed0b4670c00477275c38186e5493c85", 27648),
              ("2x/fc6.txt", "2d69ff42fd36b74b710c8263e18605b405fb1c3fe0e267ef2a65436dc344857a", 8427),
              ("2x/fc7.txt", "d5aafc5e91ce7a0561f5a3418c2321541053c406eb64b906f7c3cbb51b916e7c", 8192),
              ("2x/fc8.txt", "ecd33a31bd57b7a068ec66bbe721fa6d5e93893637a576fc464cd618c5458312", 2000),
              ("2x/pool5.txt", "36d49686fc1ca67974c304b84ac0f1018ed0b4670c00477275c38186e5493c85", 27648),
              ("3x/conv1.txt", "e244457f2db1c0883bcc4d80f126022a29840b177ba3f04b533e06ccadeb44dd", 370),
              ("3x/conv2.txt", "9334b6bdda7b6684d7b7b13f2f6950a109a4e72d2bd28d9653eada9d4dc62754", 780),
              ("3x/conv3.txt", "5191855612b02457029f4bf303cbe63bd699e8b14abadf07d342616992832d7f", 199341),
              ("3x/conv4.txt", "53b60a5e4a0098be36a155488e80d9d680afc2de770e0240ebd6c02d805e6606", 1152),
              ("3x/conv5.txt", "fb9cb107e64e85389ed8526927386db64193f9a683a1fcc93c4d9e692086515c", 27648),
              ("3x/fc6.txt", "615c088ea5beff9c1cd67fe643d8daa5ea7370cb93a70656951b88194a7c65cc", 12185),
              ("3x/fc7.txt", "bae31fe48c26733a09fb61424d499cdcddcf9dc02637523605452e98ce971b41", 8192),
              ("3x/fc8.txt", "cd95ba22421eca79333a79cf641a441fe56ee9543f052b332ad7af3df84f88e3", 2141)))),
    Model("misc", "Label files (ImageNet synsets, Places205 categories, ILSVRC class map), "
          "the captioner's vocabulary and the example sentences", "MIT (Evolving-AI-Lab/synthesizing, ppgn)", (
              _repo_file("data/misc/synset_words.txt", "acf75ef0abe89694b19056e0796401068b459c457baa30335f240c7692857355",
                         31675, "synthesizing:misc/synset_words.txt", "ppgn:misc/synset_words.txt"),
              _repo_file("data/misc/categoryIndex_places205.txt",
                         "8271d045edeb578fc1d824968e16cc98ada32cbc960dd8a9b2f9b835b7625d18", 2989,
                         "synthesizing:misc/categoryIndex_places205.txt", "ppgn:misc/categoryIndex_places205.txt"),
              _repo_file("data/misc/map_clsloc.txt", "1dd44b44b70cbdb05781d3b49851bfa25a82486f47b2957a29eac1f98da4441d",
                         24366, "ppgn:misc/map_clsloc.txt"),
              _repo_file("data/misc/vocabulary.txt", "7163e06a56a9064e87b0a0c21092a4d1d64dc0b00d8933c43a2d5c736996d37e",
                         65879, "ppgn:misc/vocabulary.txt"),
              _repo_file("data/misc/sentences.txt", "ce329c0635f5b2b94cc74eeb450c6b32cc77128b4773444002f55091b82d1f8d",
                         1074, "ppgn:misc/sentences.txt"))),
    Model("mean", "The ILSVRC 2012 mean image, as .mat (DGN-AM, PPGN) and .npy (cnnpref, cnn-vis)",
          "MIT (Evolving-AI-Lab/synthesizing, KamitaniLab/cnnpref); BSD (BVLC/caffe)", (
              _repo_file("data/ilsvrc_2012_mean.mat", "c4f327c5c5e71f84d26e93547e41e66dd298af1ee3b78819af2a0509a631fb3a",
                         786640, "synthesizing:ilsvrc_2012_mean.mat", "ppgn:misc/ilsvrc_2012_mean.mat",
                         "synthesizing:nets/ilsvrc_2012_mean.mat"),
              _repo_file("data/ilsvrc_2012_mean.npy", "97eefba7e046ee097121ad18564329636d2f9c153b748c7313653cae8594a149",
                         1572944, "cnnpref:data/ilsvrc_2012_mean.npy", "caffe:python/caffe/imagenet/ilsvrc_2012_mean.npy"))),
    Model("images", "Input images: DGN-AM's and PPGN's real-image starts, cnn-vis's start images and layer list",
          "MIT (Evolving-AI-Lab/synthesizing, ppgn, jcjohnson/cnn-vis)", (
              _repo_file("data/images/red_pepper.jpg", "7e2c8cf115cb23fff9f02471cf4ce15361417382f48d056ad064371f84e1fa0d",
                         6791, "synthesizing:images/red_pepper.jpg"),
              _repo_file("data/images/volcano.jpg", "a2728adda608f314f7b1871c51e35210c00635c983cfec2ee17eb53b41c78425",
                         30773, "ppgn:images/volcano.jpg"),
              *(_repo_file(f"data/cnn-vis/initial_imgs/{name}", sha256, size, f"cnn-vis:initial_imgs/{name}")
                for name, sha256, size in (
                    ("bliss.jpg", "bcee50b14fd9b12644f1534bbd875e44801f7ae9323bd95a359487f283308a9f", 531782),
                    ("lake.jpg", "b007ee5d66f6a97528dddf3a0c26f8f65adaf8d9bd71714818ec83c7f8c1449b", 289287),
                    ("sky.jpg", "0821432e1977d34c378b7b192e478af95437c64cf4ed021de13c13d8f48333f9", 148465),
                    ("starry_night.jpg", "913e2cf098071c58dccb65cfe48865eb0643edbbfae21c73a834b69558dd759e", 2684897))),
              _repo_file("data/cnn-vis/googlenet_layers.txt",
                         "59db50f4d1b1ac46a004c3671cc22a8c1aa0f340628aa8c49757f0901b13e202", 3228,
                         "cnn-vis:googlenet_layers.txt"))),
    Model("examples", "The published example images, for the regression checks",
          "MIT (Evolving-AI-Lab/synthesizing, ppgn, jcjohnson/cnn-vis)", tuple(_example(*entry) for entry in (
              ("synthesizing", "example1.jpg", "c8eb3e6e516572410249ebb219ce674d47d9bfc157ad1318e345aabd84755179", 107720),
              ("synthesizing", "example2.jpg", "ab0cf5d8ae0bb9ab2f9b20e291b882d7c10eae0d18fb2c59cf7e9d2c62e38151", 110939),
              ("synthesizing", "example3.jpg", "95a9fb159cdcff1bf89d001da21a2fa36eb8307f27f45794050550766a45dfbd", 511061),
              ("synthesizing", "example4.jpg", "3de8e698194df898cbc7a01e2355d7a9c78e985fa8b32a753efa135c78ffdb42", 55263),
              ("synthesizing", "example5.jpg", "fe48a62122c88669d9c3bc145c9bad1efaab4a1762e5f4fb2606282b3dfa2df0", 92503),
              ("ppgn", "161208__conv5_face_detector.jpg",
               "5f1d78b17c4619c731fdf395812d259b548b2b5e8797e231185c7d765924cec5", 1726752),
              ("ppgn", "a_church_steeple_that_has_a_clock_on_it.jpg",
               "426d00b83a9a1e10d8a49cbf492a66cfed5dd13a0c553dfb8e972cd7788fd82c", 58985),
              ("ppgn", "example1.jpg", "71174cdea4f8d165d8df1f422d2e457c41ec1c18a81002d0dce4ac422d8425e2", 631542),
              ("ppgn", "example6.jpg", "cdc8d6fdf1474bb32eff72f93d124baf732c54a52d8dc54e54abbc7500bfb956", 334032),
              ("ppgn", "example7.jpg", "8c87c2ee68ff82e519753ebefd60d57656453ab5818ea45f065b16e90dfb3dec", 291007),
              ("ppgn", "hidden_faces.jpg", "5b4eb378e8f3dd5cc626b6989438018f42b475a2a5660d20ddf9feceebb8b0a1", 273715),
              ("ppgn", "hidden_food.jpg", "b6825aae65a7054353976a3228063c7521de2bd39158c79f43c8c1beb7e32b85", 230969),
              ("cnn-vis", "example5.png", "546560d58e2eed0514f042993b259231aa2ae06110db08b6525c391234adfa11", 4015673),
              ("cnn-vis", "example6.png", "57c0560300c04136cefaf183b2010ff377f2537cb236df34652c0f75cf0daaa5", 3346495),
              ("cnn-vis", "example7.png", "945b23785c66fa84509b3032cedbabd20b54a9dca2ce8339bee2d55a5dd05034", 547847),
              ("cnn-vis", "example8.png", "df586f55fd31322bee6ccb409913c9d3acc392a0bcef5409dcb33e6c82d98e97", 536431),
              ("cnn-vis", "example9.png", "e1903a43703ef1d8cbfebd7aacff2927adc1bdd67366665578f0916818e64b33", 1467301),
              ("cnn-vis", "example10.png", "55ca6b622e342f88912557c48427cd8215da7a0c21898f447a7f730dfec36afe", 2835977),
              ("cnn-vis", "example11.png", "2492e08e31bea1383c637051923ff973bb254e591fdd23890b9d24d377509bd3", 3784450),
              ("cnn-vis", "example12.png", "afd62d3822cd7d20137306f6af974fe8a9b5a098943e10b92448704722763082", 1846370),
              ("cnn-vis", "example13.png", "574393b6fe96bd91e9d173e2fab5ef7dee25678809e5698b19a9df09b0c17af6", 812863)))),
)


# --- looking things up ----------------------------------------------------

def model(name, models=MODELS):
    """The model called `name` (any case); a UserError listing the names otherwise."""
    for m in models:
        if m.name.lower() == name.lower():
            return m
    raise UserError(f"no model called {name!r}; known: {', '.join(m.name for m in models)} (or 'all')")


def nets_dir():
    path = os.path.abspath(setting("nets_dir"))
    if os.path.isfile(path):
        raise UserError(f"NETS_DIR {path}: is a file, not a folder; point NETS_DIR (settings.nets_dir) at the "
                        f"models' folder, which {FETCH_COMMAND} fills")
    return path


def provider(path, root=None, models=MODELS):
    """(model, file) that installs `path`, or None when the registry has no such file."""
    root = root or nets_dir()
    wanted = os.path.abspath(path)
    for m in models:
        for f in m.files:
            if os.path.join(root, f.dest) == wanted:
                return m, f
    return None


def downloads_of(paths):
    """The names of the registry models that provide any of `paths`, sorted:
    what a program fetches on first use."""
    return sorted({found[0].name for found in map(provider, [p for p in paths if isinstance(p, str)]) if found})
