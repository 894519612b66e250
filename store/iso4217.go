package store

// iso4217 holds the alphabetic codes of the currencies ISO 4217 lists as
// circulating (typed from the standard's list one, 2025). Left out on
// purpose, since a ticket is paid in money: fund codes (BOV, CHE, CHW, CLF,
// COU, MXV, USN, UYI, UYW), precious metals (XAU, XAG, XPD, XPT), the
// special drawing right and its kin (XDR, XSU, XUA, XBA-XBD), the testing
// and "no currency" codes (XTS, XXX), and codes already withdrawn (HRK, SLL,
// ZWL, CUC, MRO, STD, VEF...). ANG stays while XCG replaces it, BGN until
// ISO withdraws it.
const iso4217 = "" +
	"AED AFN ALL AMD ANG AOA ARS AUD AWG AZN " +
	"BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD " +
	"CAD CDF CHF CLP CNY COP CRC CUP CVE CZK " +
	"DJF DKK DOP DZD " +
	"EGP ERN ETB EUR " +
	"FJD FKP " +
	"GBP GEL GHS GIP GMD GNF GTQ GYD " +
	"HKD HNL HTG HUF " +
	"IDR ILS INR IQD IRR ISK " +
	"JMD JOD JPY " +
	"KES KGS KHR KMF KPW KRW KWD KYD KZT " +
	"LAK LBP LKR LRD LSL LYD " +
	"MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN " +
	"NAD NGN NIO NOK NPR NZD " +
	"OMR " +
	"PAB PEN PGK PHP PKR PLN PYG " +
	"QAR " +
	"RON RSD RUB RWF " +
	"SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL " +
	"THB TJS TMT TND TOP TRY TTD TWD TZS " +
	"UAH UGX USD UYU UZS " +
	"VED VES VND VUV " +
	"WST " +
	"XAF XCD XCG XOF XPF " +
	"YER " +
	"ZAR ZMW ZWG "

// ValidCurrency reports whether code (upper case) is a circulating ISO 4217
// currency that gigs may be priced in.
func ValidCurrency(code string) bool {
	if len(code) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if code[i] < 'A' || code[i] > 'Z' {
			return false
		}
	}
	// Every code in the table is followed by one space, so a match at a
	// multiple of 4 is a whole code, never the tail of one and the head of
	// the next.
	for i := 0; i+3 <= len(iso4217); i += 4 {
		if iso4217[i:i+3] == code {
			return true
		}
	}
	return false
}
