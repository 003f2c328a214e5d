package ring

import "hash/crc32"

// crcMaxKey mirrors gomemcache's PickServer, which copies the key into a
// 256-byte pooled buffer before hashing: longer keys are hashed on their
// prefix only, and matching that quirk is what makes routing identical.
const crcMaxKey = 256

// ieeeTable lets Pick hash the string in place: crc32.ChecksumIEEE needs a
// []byte and calls through a function variable, which forces the key to escape
// to the heap on every call.
var ieeeTable = crc32.MakeTable(crc32.IEEE)

type crcRing struct {
	servers []string
}

func (r crcRing) Servers() []string { return r.servers }

func (r crcRing) Pick(key string) int {
	if len(r.servers) == 1 {
		return 0
	}
	if len(key) > crcMaxKey {
		key = key[:crcMaxKey]
	}
	crc := ^uint32(0)
	for i := 0; i < len(key); i++ {
		crc = ieeeTable[byte(crc)^key[i]] ^ (crc >> 8)
	}
	return int(^crc % uint32(len(r.servers)))
}
