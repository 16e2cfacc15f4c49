//! Annex B byte streams (H.264 and H.265 Annex B): NAL units separated by
//! start codes `00 00 01` or `00 00 00 01`.

/// The start code written before every NAL unit of our output.
pub(crate) const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// The NAL units of an Annex B stream, without start codes or the zero bytes
/// that pad them. Bytes before the first start code count as a NAL unit, so a
/// bare NAL unit passes through; empty units are skipped.
pub(crate) fn nal_units(stream: &[u8]) -> Vec<&[u8]> {
    let mut units = Vec::new();
    let mut begin = 0;
    let mut i = 0;
    while i + 2 < stream.len() {
        if stream[i + 2] > 1 {
            i += 3;
        } else if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            push_trimmed(&mut units, &stream[begin..i]);
            i += 3;
            begin = i;
        } else {
            i += 1;
        }
    }
    push_trimmed(&mut units, &stream[begin..]);
    units
}

fn push_trimmed<'a>(units: &mut Vec<&'a [u8]>, unit: &'a [u8]) {
    let end = unit.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    if end > 0 {
        units.push(&unit[..end]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_three_and_four_byte_start_codes() {
        let stream = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 0, 0, 3, 1, 0];
        assert_eq!(nal_units(&stream), [&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 0, 0, 3, 1]]);
        // A bare NAL unit and an empty stream.
        assert_eq!(nal_units(&[0x41, 0x9a]), [&[0x41, 0x9a][..]]);
        assert!(nal_units(&[0, 0, 1, 0, 0, 0, 1]).is_empty());
        assert!(nal_units(&[]).is_empty());
    }
}
