// pnpm hooks. beforePacking (pnpm ≥ 10.28) shapes the package.json that `pnpm pack` and `pnpm publish` put in
// a tarball: devDependencies are dropped, since npm never installs a dependency's devDependencies and ours
// name private workspace packages (@resnet/testing) that do not exist on the registry.
module.exports = {
  hooks: {
    beforePacking(pkg) {
      delete pkg.devDependencies;
      return pkg;
    },
  },
};
