package ring

import (
	"crypto/md5"
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"strings"
)

const (
	ketamaPointsPerServer = 160
	ketamaPointsPerHash   = 4
	// twemproxy drops the port from the hashed name when it is memcached's
	// default, for compatibility with libmemcached rings.
	defaultMemcachedPort = "11211"
	keyBufLen            = 256
)

type point struct {
	value uint32
	index int
}

type ketamaRing struct {
	servers   []string
	continuum []point
}

func newKetama(servers []string) *ketamaRing {
	n := len(servers)
	pps := ketamaPoints(n)
	r := &ketamaRing{servers: servers, continuum: make([]point, 0, n*pps)}
	for i, s := range servers {
		name := ketamaName(s)
		for p := 0; p < pps/ketamaPointsPerHash; p++ {
			sum := md5.Sum([]byte(name + "-" + strconv.Itoa(p)))
			for a := 0; a < ketamaPointsPerHash; a++ {
				r.continuum = append(r.continuum, point{
					value: binary.LittleEndian.Uint32(sum[a*4:]),
					index: i,
				})
			}
		}
	}
	slices.SortStableFunc(r.continuum, func(a, b point) int {
		switch {
		case a.value < b.value:
			return -1
		case a.value > b.value:
			return 1
		}
		return 0
	})
	return r
}

// ketamaPoints reproduces twemproxy's float32 computation of a server's point
// count for equal weights, so that rounding quirks (if any) match as well.
func ketamaPoints(nlive int) int {
	pct := float32(1) / float32(nlive)
	t := float32(float32(float32(pct*float32(ketamaPointsPerServer))/4) * float32(nlive))
	return int(math.Floor(float64(t)+0.0000000001)) * 4
}

func ketamaName(server string) string {
	host, port, ok := strings.Cut(server, ":")
	if ok && port == defaultMemcachedPort {
		return host
	}
	return server
}

func (r *ketamaRing) Servers() []string { return r.servers }

func (r *ketamaRing) Pick(key string) int {
	if len(r.servers) == 1 {
		return 0
	}
	h := keyHash(key)
	c := r.continuum
	lo, hi := 0, len(c)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if c[mid].value < h {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(c) {
		lo = 0
	}
	return c[lo].index
}

// keyHash is twemproxy's hash_md5: the first 4 digest bytes, little endian.
func keyHash(key string) uint32 {
	var sum [md5.Size]byte
	if len(key) <= keyBufLen {
		var buf [keyBufLen]byte
		n := copy(buf[:], key)
		sum = md5.Sum(buf[:n])
	} else {
		sum = md5.Sum([]byte(key))
	}
	return binary.LittleEndian.Uint32(sum[:4])
}
