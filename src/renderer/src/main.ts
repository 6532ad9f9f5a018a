/** Renderer entry: mounts the Vue app with Pinia. Must not touch window.api (src/api.ts does). */
import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import 'vue-echarts/style.css'
import './assets/base.css'
import './assets/app.css'

createApp(App).use(createPinia()).mount('#app')
