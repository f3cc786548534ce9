//! Frames back to the CPU: the one place that knows a copy into a buffer pads each row to 256
//! bytes, and takes the padding off again; PNG files from the rows.

use super::{GpuContext, RenderError};

/// Bytes per row of a `width`-pixel RGBA8 (or BGRA8) frame in a read-back buffer: a multiple of
/// 256, as copies to buffers require.
pub fn padded_row(width: u32) -> u32 {
    (width * 4).div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT
}

/// Bytes of a read-back buffer for a `width` x `height` frame.
pub fn buffer_size(width: u32, height: u32) -> u64 {
    padded_row(width) as u64 * height as u64
}

/// A buffer a `width` x `height` frame can be copied into and mapped from.
pub fn buffer(device: &wgpu::Device, label: &str, width: u32, height: u32) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: buffer_size(width, height),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    })
}

/// Records a copy of the whole texture into `buffer` (made by `buffer` for its size).
pub fn copy(encoder: &mut wgpu::CommandEncoder, texture: &wgpu::Texture, buffer: &wgpu::Buffer) {
    copy_rect(
        encoder,
        texture,
        buffer,
        [0, 0, texture.width(), texture.height()],
    );
}

/// Records a copy of rectangle `r` (x, y, w, h, inside the texture) of the texture into the same
/// place of `buffer` (made by `buffer` for the texture's size): the rest of the buffer keeps
/// what it held.
pub fn copy_rect(
    encoder: &mut wgpu::CommandEncoder,
    texture: &wgpu::Texture,
    buffer: &wgpu::Buffer,
    r: [u32; 4],
) {
    let padded = padded_row(texture.width());
    encoder.copy_texture_to_buffer(
        wgpu::TexelCopyTextureInfo {
            texture,
            mip_level: 0,
            origin: wgpu::Origin3d {
                x: r[0],
                y: r[1],
                z: 0,
            },
            aspect: wgpu::TextureAspect::All,
        },
        wgpu::TexelCopyBufferInfo {
            buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: r[1] as u64 * padded as u64 + r[0] as u64 * 4,
                bytes_per_row: Some(padded),
                rows_per_image: Some(r[3]),
            },
        },
        wgpu::Extent3d {
            width: r[2],
            height: r[3],
            depth_or_array_layers: 1,
        },
    );
}

/// Row `r` of a `width`-pixel frame in read-back bytes, without its padding.
pub fn row(data: &[u8], width: usize, r: usize) -> &[u8] {
    let padded = padded_row(width as u32) as usize;
    &data[r * padded..r * padded + width * 4]
}

/// Rows of a `width`-pixel frame that `data` holds whole.
pub fn rows_in(data: &[u8], width: usize) -> usize {
    data.len() / (padded_row(width as u32) as usize).max(1)
}

/// Tightly packed RGBA8 rows from read-back rows; `bgra`: the source is BGRA and is swapped to
/// RGBA, alpha opaque.
pub fn unpad_rows(data: &[u8], width: usize, height: usize, bgra: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(width * 4 * height);
    for r in 0..height.min(rows_in(data, width)) {
        let src = row(data, width, r);
        if bgra {
            for px in src.chunks_exact(4) {
                out.extend_from_slice(&[px[2], px[1], px[0], 255]);
            }
        } else {
            out.extend_from_slice(src);
        }
    }
    out
}

/// Whether a texture format stores blue first (the window's usual formats).
pub fn is_bgra(format: wgpu::TextureFormat) -> bool {
    matches!(
        format,
        wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Bgra8UnormSrgb
    )
}

/// Reads a texture back as tightly packed RGBA8 rows (BGRA textures swapped to RGBA).
pub fn read_rgba(ctx: &GpuContext, texture: &wgpu::Texture) -> Result<Vec<u8>, RenderError> {
    let (width, height) = (texture.width(), texture.height());
    let buf = buffer(&ctx.device, "readback", width, height);
    let mut enc = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("readback"),
        });
    copy(&mut enc, texture, &buf);
    ctx.queue.submit(Some(enc.finish()));
    let slice = buf.slice(..);
    slice.map_async(wgpu::MapMode::Read, |_| {});
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| RenderError::Readback(e.to_string()))?;
    let data = slice
        .get_mapped_range()
        .map_err(|e| RenderError::Readback(e.to_string()))?;
    let bgra = is_bgra(texture.format());
    let out = unpad_rows(&data, width as usize, height as usize, bgra);
    drop(data);
    buf.unmap();
    Ok(out)
}

/// Writes RGBA8 pixels as a PNG.
pub fn write_png(
    path: &std::path::Path,
    width: u32,
    height: u32,
    rgba: &[u8],
) -> Result<(), RenderError> {
    let err = |e: &dyn std::fmt::Display| RenderError::Write {
        path: path.display().to_string(),
        why: e.to_string(),
    };
    let file = std::fs::File::create(path).map_err(|e| err(&e))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(|e| err(&e))?;
    w.write_image_data(rgba).map_err(|e| err(&e))?;
    w.finish().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_lose_their_padding() {
        // 3 pixels a row pad to 256 bytes; two rows of BGRA.
        assert_eq!(padded_row(3), 256);
        assert_eq!(padded_row(64), 256);
        assert_eq!(padded_row(65), 512);
        let mut data = vec![0xEEu8; 512];
        for r in 0..2 {
            for x in 0..3 {
                let o = r * 256 + x * 4;
                data[o..o + 4].copy_from_slice(&[x as u8, 10 + r as u8, 200, 7]);
            }
        }
        let rgba = unpad_rows(&data, 3, 2, false);
        assert_eq!(rgba.len(), 24);
        assert_eq!(&rgba[12..16], &[0, 11, 200, 7]);
        let swapped = unpad_rows(&data, 3, 2, true);
        assert_eq!(&swapped[4..8], &[200, 10, 1, 255]);
        // Rows the data does not hold are not made up.
        assert_eq!(unpad_rows(&data[..300], 3, 2, false).len(), 12);
    }
}
