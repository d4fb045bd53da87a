// symtarget_cxx.cc — a C++ member function that allocates at a known line
// (the marker comment), for the demangling test.  Built with -O2 -g.
#include <cstddef>
#include <cstdio>

namespace ns {
class Widget {
public:
	char *grow(unsigned long n);
	char *data = nullptr;
};

__attribute__((noinline)) char *Widget::grow(unsigned long n)
{
	char *p = new char[n]; // SYM_CXX_ALLOC
	data = p;
	return p;
}
} // namespace ns

ns::Widget *volatile keep;

int main()
{
	static ns::Widget w;
	keep = &w;
	w.grow(9001);
	std::printf("done\n");
	return 0;
}
