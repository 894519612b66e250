package media

import "strconv"

// H.264 NAL unit types the server cares about.
const (
	NALUTypeSlice = 1
	NALUTypeIDR   = 5
	NALUTypeSEI   = 6
	NALUTypeSPS   = 7
	NALUTypePPS   = 8
	NALUTypeAUD   = 9
	// NALUTypeFiller is filler data, padding a constant bitrate stream.
	NALUTypeFiller = 12
	// NALUTypeSTAPA and NALUTypeFUA are the RTP payload structures of
	// RFC 6184 (aggregation and fragmentation units), which reuse the NAL
	// unit type field: the packetizer writes them, WHIP ingest reads them.
	NALUTypeSTAPA = 24
	NALUTypeFUA   = 28
)

// NALUType returns the nal_unit_type of a NAL unit (0 for an empty one).
func NALUType(nalu []byte) byte {
	if len(nalu) == 0 {
		return 0
	}
	return nalu[0] & 0x1f
}

// ProfileName names an H.264 profile_idc with its constraint flags.
func ProfileName(profile, constraints byte) string {
	switch profile {
	case 66:
		if constraints&0x40 != 0 {
			return "Constrained Baseline"
		}
		return "Baseline"
	case 77:
		return "Main"
	case 88:
		return "Extended"
	case 100:
		return "High"
	case 110:
		return "High 10"
	case 122:
		return "High 4:2:2"
	case 244:
		return "High 4:4:4"
	default:
		return "profile " + strconv.Itoa(int(profile))
	}
}

// LevelName formats an H.264 level_idc ("3.1").
func LevelName(level byte) string {
	if level == 9 {
		return "1b"
	}
	return strconv.Itoa(int(level)/10) + "." + strconv.Itoa(int(level)%10)
}
