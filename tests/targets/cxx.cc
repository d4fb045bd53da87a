// cxx.cc — C++ new/delete, new[]/delete[], sized delete, aligned new
// (alignas(64)), nothrow new.  Bytes are what operator new is asked for:
// for an array of a type with a destructor that includes the array cookie
// (Itanium ABI: max(sizeof(size_t), alignof(T)) bytes in front).
#include <new>
#include "truth.h"

T_DEFINE_TRUTH;

namespace {

const int ROUNDS = 20000;

struct Node {             // trivially destructible: no array cookie
	long v[5];
};

struct Tracked {          // has a destructor: arrays carry a cookie
	long v[3];
	~Tracked() { v[0] = 0; }
};

struct alignas(64) Line {
	char b[64 * 3];
};

const size_t COOKIE = sizeof(size_t);

Node *keep[64];

}  // namespace

int main(int argc, char **argv)
{
	uint64_t rng = 11;

	t_init(argc, argv);
	t_begin();
	for (int r = 0; r < ROUNDS; r++) {
		size_t n = 1 + t_rand(&rng) % 100;

		Node *a = new Node;                    // operator new(40)
		t_alloc(&t_truth, T_NEW, sizeof(Node));
		t_touch(a, sizeof *a);

		char *b = new char[n];                 // operator new[](n)
		t_alloc(&t_truth, T_NEW_ARRAY, n);
		t_touch(b, n);

		Tracked *c = new Tracked[n];           // operator new[](n*24 + 8)
		t_alloc(&t_truth, T_NEW_ARRAY, n * sizeof(Tracked) + COOKIE);

		Line *d = new Line;                    // operator new(192, align 64)
		t_alloc(&t_truth, T_NEW, sizeof(Line));
		if ((uintptr_t)d % 64)
			t_die("aligned new");

		Line *e = new Line[2];                 // operator new[](384, align 64)
		t_alloc(&t_truth, T_NEW_ARRAY, 2 * sizeof(Line));

		long *f = new (std::nothrow) long[n];  // operator new[](n*8, nothrow)
		if (!f)
			t_die("nothrow new[]");
		t_alloc(&t_truth, T_NEW_ARRAY, n * sizeof(long));

		Node *g = new (std::nothrow) Node;     // operator new(40, nothrow)
		if (!g)
			t_die("nothrow new");
		t_alloc(&t_truth, T_NEW, sizeof(Node));

		t_free(&t_truth, sizeof(Node));
		delete a;                              // sized delete
		t_free(&t_truth, n);
		delete[] b;
		t_free(&t_truth, n * sizeof(Tracked) + COOKIE);
		delete[] c;                            // sized delete[] with cookie
		t_free(&t_truth, sizeof(Line));
		delete d;                              // aligned delete
		t_free(&t_truth, 2 * sizeof(Line));
		delete[] e;
		t_free(&t_truth, n * sizeof(long));
		delete[] f;

		int k = r % 64;                        // g lives a while
		if (keep[k]) {
			t_free(&t_truth, sizeof(Node));
			delete keep[k];
		}
		keep[k] = g;
	}
	// The last 64 Nodes leak except every fourth.
	for (int k = 0; k < 64; k += 4) {
		t_free(&t_truth, sizeof(Node));
		delete keep[k];
	}
	return t_end();
}
