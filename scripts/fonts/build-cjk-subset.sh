#!/usr/bin/env bash
# Rebuilds bot/assets/fonts/NotoSansCJKsc-Regular-subset.otf, the CJK font of the charts
# (bot/src/render/charts.rs), and its licence text LICENSE-NotoSansCJK.txt, from pinned inputs:
# - Noto Sans CJK SC Regular (face 2 of NotoSansCJK-Regular.ttc) of the Debian package
#   fonts-noto-cjk 1:20220127+repack1-1 (bookworm; SIL OFL 1.1), checked by its sha256;
# - fontTools 4.68.0 (pip, into a venv under .cache/, which git ignores).
# The subset holds ASCII and Latin-1, common punctuation (general and full-width), the symbol
# and full-width rows of GB2312 (rows 1 and 3), the 3,755 characters of GB2312 level 1 (rows
# 16-55: the common Chinese characters), and every Han character or CJK punctuation mark of
# the message files under bot/locales/ when they exist. No hinting, no layout tables (plotters
# draws with ab_glyph, which uses neither), the font's own timestamps kept: the output is the
# same byte for byte on every run with the same inputs. bot/assets/fonts/README.md records its
# sha256; update it when the output changes (e.g. after new characters in bot/locales/).
#
# usage: scripts/fonts/build-cjk-subset.sh
#   DEB=path/to/fonts-noto-cjk_20220127+repack1-1_all.deb   use this copy of the package
#     instead of `apt-get download` (e.g. once bookworm no longer has this version: it stays at
#     https://snapshot.debian.org/package/fonts-noto-cjk/1:20220127+repack1-1/)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

deb_package=fonts-noto-cjk
deb_version=1:20220127+repack1-1
deb_sha256=4a2515eb6db3978b897fef9709ed0d2b1f4c6c4df4d83d6c4ef65f71f1b1f502
ttc=usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
face=2 # 0 JP, 1 KR, 2 SC, 3 TC, 4 HK
fonttools_version=4.68.0
out=bot/assets/fonts/NotoSansCJKsc-Regular-subset.otf
licence=bot/assets/fonts/LICENSE-NotoSansCJK.txt

cache=$root/.cache/fonts
mkdir -p "$cache"
venv=$cache/venv-fonttools-$fonttools_version
if [ ! -x "$venv/bin/pyftsubset" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "fonttools==$fonttools_version"
fi

deb=${DEB:-}
if [ -z "$deb" ]; then
    deb=$cache/${deb_package}_${deb_version#*:}_all.deb
    if [ ! -f "$deb" ]; then
        tmp_dl=$(mktemp -d)
        # apt-get download writes into the current folder; `_apt` may not write there (harmless)
        (cd "$tmp_dl" && apt-get download "$deb_package=$deb_version" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
        mv "$tmp_dl"/*.deb "$deb"
        rm -rf "$tmp_dl"
    fi
fi
echo "$deb_sha256  $deb" | sha256sum -c --quiet -

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/pkg"

# the characters: one code point (hex) a line
python3 - "$work/unicodes.txt" bot/locales <<'PY'
import pathlib, sys

out, locales = sys.argv[1], pathlib.Path(sys.argv[2])
cps = set(range(0x20, 0x7F))  # ASCII
cps |= set(range(0xA0, 0x100))  # Latin-1
cps |= set(range(0x2010, 0x2028)) | {0x2030, 0x2032, 0x2033, 0x2039, 0x203A, 0x203B}
cps |= {ord(c) for c in "，。：；（）！？、“”‘’《》〈〉「」『』【】〔〕〖〗…—～·￥"}


def gb2312_row(hi):
    for lo in range(0xA1, 0xFF):
        try:
            yield ord(bytes([hi, lo]).decode("gb2312"))
        except UnicodeDecodeError:
            pass


cps |= set(gb2312_row(0xA1)) | set(gb2312_row(0xA3))  # symbols, full-width ASCII
level1 = {c for hi in range(0xB0, 0xD8) for c in gb2312_row(hi)}
assert len(level1) == 3755, len(level1)
cps |= level1


def cjk(c):
    return (
        0x2E80 <= c <= 0x2FDF  # radicals
        or 0x3000 <= c <= 0x303F  # CJK symbols and punctuation
        or 0x3400 <= c <= 0x4DBF  # extension A
        or 0x4E00 <= c <= 0x9FFF  # unified ideographs
        or 0xF900 <= c <= 0xFAFF  # compatibility ideographs
        or 0xFE30 <= c <= 0xFE4F  # compatibility forms
        or 0xFF00 <= c <= 0xFFEF  # full-width and half-width forms
        or 0x20000 <= c <= 0x3FFFF  # extensions B-H
    )


from_locales = set()
if locales.is_dir():
    for f in sorted(locales.rglob("*.ftl")):
        from_locales |= {ord(c) for c in f.read_text(encoding="utf-8") if cjk(ord(c))}
print(f"{len(from_locales)} CJK characters in {locales}/, {len(from_locales - cps)} of them not "
      "in the common set", file=sys.stderr)
cps |= from_locales
with open(out, "w") as f:
    f.writelines(f"{c:04X}\n" for c in sorted(cps))
PY

# the subset: no hinting, no layout (GSUB/GPOS: plotters does no shaping) or vertical tables,
# the .notdef box kept (a character outside the subset shows as a box, not as nothing), the
# source's timestamps kept (no --recalc-timestamp: deterministic)
"$venv/bin/pyftsubset" "$work/pkg/$ttc" \
    --font-number="$face" \
    --unicodes-file="$work/unicodes.txt" \
    --no-hinting \
    --layout-features='' \
    --drop-tables+=GSUB,GPOS,GDEF,BASE,VORG,vhea,vmtx,DSIG \
    --notdef-outline \
    --name-IDs='*' \
    --output-file="$work/subset.otf"
mv "$work/subset.otf" "$out"

# the licence: the upstream copyright line (googlefonts/noto-cjk, LICENSE) and the OFL 1.1 text
# of the package's copyright file
{
    echo "Noto Sans CJK SC, subset (see README.md): from the Debian package"
    echo "$deb_package $deb_version, file /$ttc, face $face."
    echo
    echo "Copyright 2014-2021 Adobe (http://www.adobe.com/), with Reserved Font Name 'Source'."
    echo
    echo "This Font Software is licensed under the SIL Open Font License, Version 1.1."
    echo "This license is copied below, and is also available with a FAQ at:"
    echo "https://openfontlicense.org"
    echo
    python3 - "$work/pkg/usr/share/doc/$deb_package/copyright" <<'PY'
import sys

# the stand-alone paragraph `License: SIL-1.1` followed by the indented text
for para in open(sys.argv[1], encoding="utf-8").read().split("\n\n"):
    lines = para.split("\n")
    if lines[0] == "License: SIL-1.1" and len(lines) > 1:
        print("\n".join("" if l == " ." else l[1:] for l in lines[1:]).rstrip())
        break
else:
    sys.exit("no OFL text in the package's copyright file")
PY
} >"$licence"

ls -l "$out"
sha256sum "$out"
