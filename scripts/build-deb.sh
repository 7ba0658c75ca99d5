#!/usr/bin/env bash
# Builds dist/darkroom_VERSION_ARCH.deb: the release binary with the Swift runtime linked statically (no toolchain on
# the target), its gallery templates, the default model, the systemd unit, sysusers/tmpfiles snippets and
# /etc/darkroom/config.json as a conffile. Needs Swift, dpkg-deb and binutils; lintian checks it when installed.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(cat VERSION)
arch=$(dpkg --print-architecture)
name="darkroom_${version}_${arch}"
scratch=.build-deb
stage="dist/stage/$name"

echo "build-deb: release build with the static Swift runtime ($scratch)"
swift build -c release --static-swift-stdlib --product darkroom --scratch-path "$scratch"
bin="$scratch/release"
if ldd "$bin/darkroom" | grep libswiftCore >/dev/null; then
    echo "build-deb: $bin/darkroom links the Swift runtime dynamically (remove $scratch and build again)" >&2
    exit 1
fi
echo "build-deb: the manual page (swift-argument-parser's generate-manual, run on the binary itself)"
swift build -c release --product generate-manual --scratch-path "$scratch" >/dev/null
rm -rf "$scratch/manual" && mkdir -p "$scratch/manual"
"$bin/generate-manual" "$bin/darkroom" --output-directory "$scratch/manual" >/dev/null
manual="$scratch/manual/darkroom.1"

rm -rf "$stage"
install -d "$stage/DEBIAN" "$stage/usr/lib/darkroom" "$stage/usr/bin" "$stage/usr/share/darkroom/models" \
    "$stage/usr/share/doc/darkroom" "$stage/etc/darkroom" "$stage/lib/systemd/system" \
    "$stage/usr/lib/sysusers.d" "$stage/usr/lib/tmpfiles.d"
install -m 0755 "$bin/darkroom" "$stage/usr/lib/darkroom/darkroom"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/lib/darkroom/darkroom"
# The gallery's templates: Foundation finds the resource bundle beside the executable.
cp -r "$bin"/*.resources "$stage/usr/lib/darkroom/"
chmod -R u=rwX,go=rX "$stage/usr/lib/darkroom"
ln -s ../lib/darkroom/darkroom "$stage/usr/bin/darkroom"
# Every shipped model (packaging/config.json names them): its config, weights and card.
for model_dir in models/*/; do
  model_name=$(basename "$model_dir")
  install -d "$stage/usr/share/darkroom/models/$model_name"
  install -m 0644 "$model_dir/config.json" "$model_dir/model.safetensors" "$model_dir/README.md" \
      "$stage/usr/share/darkroom/models/$model_name/"
done
install -m 0644 packaging/config.json "$stage/etc/darkroom/config.json"
install -m 0644 systemd/darkroom.service "$stage/lib/systemd/system/darkroom.service"
install -m 0644 systemd/darkroom-worker@.service "$stage/lib/systemd/system/darkroom-worker@.service"
install -d "$stage/usr/share/doc/darkroom/examples"
install -m 0644 systemd/darkroom.service.d/postgresql.conf "$stage/usr/share/doc/darkroom/examples/darkroom.service.d-postgresql.conf"
install -m 0644 systemd/darkroom.service.d/notify.conf "$stage/usr/share/doc/darkroom/examples/darkroom.service.d-notify.conf"
install -m 0644 packaging/darkroom.sysusers "$stage/usr/lib/sysusers.d/darkroom.conf"
install -m 0644 packaging/darkroom.tmpfiles "$stage/usr/lib/tmpfiles.d/darkroom.conf"
install -m 0644 packaging/copyright "$stage/usr/share/doc/darkroom/copyright"
# async-http-client's response decompression (swift-nio-extras' CNIOExtrasZlib) compiles its own copy of zlib, with
# prefixed symbols, into the binary; nothing links Debian's libz for it to use instead.
install -d "$stage/usr/share/lintian/overrides"
printf '%s\n' "darkroom: embedded-library zlib [usr/lib/darkroom/darkroom]" > "$stage/usr/share/lintian/overrides/darkroom"
chmod 0644 "$stage/usr/share/lintian/overrides/darkroom"
gzip -9n -c README.md > "$stage/usr/share/doc/darkroom/README.md.gz"
install -d "$stage/usr/share/man/man1"
gzip -9n -c "$manual" > "$stage/usr/share/man/man1/darkroom.1.gz"
chmod 0644 "$stage/usr/share/man/man1/darkroom.1.gz"
cat > "$stage/usr/share/doc/darkroom/changelog" <<CHANGELOG
darkroom ($version) unstable; urgency=medium

  * Package of Darkroom $version (see README.md.gz).

 -- The Darkroom maintainers <maintainers@darkroom.invalid>  $(date -R -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
CHANGELOG
gzip -9n "$stage/usr/share/doc/darkroom/changelog"
install -m 0755 packaging/maintainer/postinst packaging/maintainer/prerm packaging/maintainer/postrm "$stage/DEBIAN/"
echo "/etc/darkroom/config.json" > "$stage/DEBIAN/conffiles"

# Runtime dependencies: the package of every shared library the binary needs (no Swift runtime among them).
depends=()
for lib in $(objdump -p "$stage/usr/lib/darkroom/darkroom" | awk '/NEEDED/ { print $2 }'); do
    case "$lib" in
        libopenblas.so.0) depends+=("libopenblas0 | libopenblas0-pthread") ;;
        *)
            path=$(ldconfig -p | awk -v l="$lib" '$1 == l && !found { found = $NF } END { print found }')
            [ -n "$path" ] || { echo "build-deb: $lib is not in the linker cache (ldconfig -p)" >&2; exit 1; }
            real=$(readlink -f "$path")
            pkg=""
            # dpkg knows a library under /lib or /usr/lib depending on the package (merged /usr): ask for each.
            for candidate in "$path" "$real" "${path#/usr}" "/usr$path" "${real#/usr}" "/usr$real"; do
                pkg=$(dpkg -S "$candidate" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
            done
            [ -n "$pkg" ] || { echo "build-deb: no package provides $lib" >&2; exit 1; }
            depends+=("$pkg") ;;
    esac
done
# oneDNN is opened at run time (dlopen, so that its OpenMP threads can be set to wait passively first), so the
# binary does not name it: depend on it by hand.
depends+=("libdnnl2")
depends_line=$(printf '%s\n' "${depends[@]}" | sort -u | paste -sd, - | sed 's/,/, /g')
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: darkroom
Version: $version
Architecture: $arch
Maintainer: The Darkroom maintainers <maintainers@darkroom.invalid>
Installed-Size: $size
Depends: $depends_line, systemd
Section: graphics
Priority: optional
Homepage: https://darkroom.invalid
Description: folder-driven diffusion image studio on the CPU
 Darkroom watches an inbox folder: drop an image and a small JSON sidecar and
 it runs the edit the sidecar asks for (SDEdit, inpainting, visual anagrams,
 hybrid images, generation) with diffusion models on the CPU, records every
 job in SQLite and writes the results, a GIF of the denoising and a static
 HTML gallery. Runs as the systemd service darkroom.service; ships a default
 model trained on Fashion-MNIST.
CONTROL
(cd "$stage" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum > DEBIAN/md5sums)
chmod 0644 "$stage/DEBIAN/md5sums" "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles"
mkdir -p dist
dpkg-deb --build --root-owner-group "$stage" "dist/$name.deb" >/dev/null
echo "build-deb: dist/$name.deb ($(du -h "dist/$name.deb" | cut -f1), installed $((size / 1024)) MiB; depends: $depends_line)"
if command -v lintian >/dev/null; then
    lintian --fail-on error "dist/$name.deb"
    echo "build-deb: lintian reports no errors"
fi
